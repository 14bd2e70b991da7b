import { fabricSchema, fabricSpecSchema, type Fabric } from "./fabric";
import { FabricError, problemsFromZod, type Problem } from "./problem";

/** Parses untrusted input into a {@link Fabric}, or returns every schema problem. */
export function parseFabric(input: unknown, options: { publicKeysAreOutputs?: boolean } = {}): Fabric | Problem[] {
  const schema = options.publicKeysAreOutputs ? fabricSpecSchema : fabricSchema;
  const result = schema.safeParse(input);
  return result.success ? result.data : problemsFromZod(result.error);
}

/** Like {@link parseFabric} but throws a {@link FabricError}. */
export function parseFabricOrThrow(input: unknown, options: { publicKeysAreOutputs?: boolean } = {}): Fabric {
  const parsed = parseFabric(input, options);
  if (Array.isArray(parsed)) throw new FabricError(parsed);
  return parsed;
}
