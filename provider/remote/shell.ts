/** Quotes one word for a POSIX shell: nothing inside single quotes is special. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command line that runs a fixed script with positional arguments: `sh -c 'SCRIPT' wg-fabric 'ARG'…`.
 * The script is constant text of ours; arguments are validated by the caller and quoted here,
 * so no user string is ever spliced into shell code.
 */
export function scriptCommand(script: string, args: readonly string[]): string {
  return ["sh", "-c", shellQuote(script), "wg-fabric", ...args.map(shellQuote)].join(" ");
}
