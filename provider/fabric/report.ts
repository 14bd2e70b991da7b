import type { PathStep, Problem } from "../model";

/** How the validation checks report a problem at a model path (`["nodes", "a", "peers", 3]`); errors unless told. */
export type Report = (path: readonly PathStep[], message: string, severity?: Problem["severity"], hint?: string) => void;
