import { COMMANDS, COMMON, OPTIONS, type Option } from "./commands";

/** An option as typed: `--name`, and `-x` too when it has a short form. */
function spellings(option: Option): string[] {
  const spec = OPTIONS[option] as { short?: string };
  return [`--${option}`, ...(spec.short ? [`-${spec.short}`] : [])];
}

/** What completes an option's value in bash: its choices, files, folders, or nothing (a name). */
function valueCompletion(option: Option, formats: readonly string[] | undefined): string | undefined {
  const spec = OPTIONS[option] as { type: string; value?: string | readonly string[] };
  if (spec.type !== "string") return undefined;
  const value = option === "format" ? formats : spec.value;
  if (Array.isArray(value)) return `_wg_fabric_reply -W "${value.join(" ")}"`;
  if (value === "file") return "_wg_fabric_reply -f";
  if (value === "dir") return "_wg_fabric_reply -d";
  return "COMPREPLY=()";
}

/**
 * A bash completion script for wg-fabric, made from the command and option tables that make
 * its help: commands, each command's options, the values of options with choices, files.
 */
export function bashCompletion(): string {
  const names = Object.keys(COMMANDS);
  const cases = Object.entries(COMMANDS).map(([name, command]) => {
    const options = [...command.options, ...COMMON];
    const values = options.flatMap((option) => {
      const completion = valueCompletion(option, command.formats);
      return completion ? [`        ${spellings(option).join("|")}) ${completion}; return ;;`] : [];
    });
    const words = name === "help" ? names : name === "completion" ? ["bash"] : [];
    const operands = words.length > 0 ? `_wg_fabric_reply -W "${words.join(" ")}"` : command.files[1] > 0 ? "_wg_fabric_reply -f" : "COMPREPLY=()";
    return [
      `    ${name})`,
      `      case $prev in`,
      ...values,
      `      esac`,
      `      if [[ $cur == -* ]]; then _wg_fabric_reply -W "${options.flatMap(spellings).join(" ")}"; else ${operands}; fi`,
      `      ;;`,
    ].join("\n");
  });
  return `# bash completion for wg-fabric (wg-fabric completion bash); made from its help's tables
# the words compgen ARGS gives for the word being completed ($cur, the caller's)
_wg_fabric_reply() {
  mapfile -t COMPREPLY < <(compgen "$@" -- "$cur")
}
_wg_fabric() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]}
  if [[ $COMP_CWORD -eq 1 ]]; then
    _wg_fabric_reply -W "${names.join(" ")} --help -h --version -V"
    return
  fi
  case \${COMP_WORDS[1]} in
${cases.join("\n")}
  esac
}
complete -o filenames -F _wg_fabric wg-fabric
`;
}
