import { isParsedFabric, parseFabric, type Fabric, type Problem } from "../model";
import { resolveInterfaces, type InterfaceView } from "./resolve";
import { hasErrors, validateFabric } from "./validate";

declare const VALID: unique symbol;

/** A fabric that passed validation: only {@link prepareFabric} makes one; the components, the CLI and a converge act on nothing else. */
export type ValidFabric = Fabric & { readonly [VALID]: true };

/** A fabric ready to act on: valid, its interfaces resolved, its warnings to show. */
export interface PreparedFabric {
  /** The fabric, parsed and valid. */
  readonly fabric: ValidFabric;
  /** Every internal interface, resolved (peers and overrides applied), in the fabric's order. */
  readonly views: readonly InterfaceView[];
  /** What validation warns of (a one-sided peering, a key folder Proxmox VE owns, …). */
  readonly warnings: readonly Problem[];
}

/** What preparing gives: the prepared fabric, or every problem found (errors, and the warnings beside them). */
export type Preparation =
  | ({
      /** Ready to act on. */
      readonly ok: true;
    } & PreparedFabric)
  | {
      /** Not valid: nothing may act on it. */
      readonly ok: false;
      /** Every problem: the errors, and the warnings beside them. */
      readonly problems: readonly Problem[];
    };

/** Options of {@link prepareFabric}. */
export interface PrepareOptions {
  /** A Pulumi program's fabric: internal interfaces' public keys are outputs, so none may be given. */
  readonly publicKeysAreOutputs?: boolean;
}

/**
 * Parses, validates and resolves a fabric in one step: the one way from input to a fabric the
 * components, the CLI and a converge act on. `input` is a fabric object, or a fabric already
 * parsed (by the fabrics.cfg reader), which is not parsed again.
 */
export function prepareFabric(input: unknown, options: PrepareOptions = {}): Preparation {
  const fabric = isParsedFabric(input) ? input : parseFabric(input, options);
  if (Array.isArray(fabric)) return { ok: false, problems: fabric };
  const views = resolveInterfaces(fabric);
  const problems = validateFabric(fabric, views);
  if (hasErrors(problems)) return { ok: false, problems };
  return { ok: true, fabric: fabric as ValidFabric, views, warnings: problems };
}
