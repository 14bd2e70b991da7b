import type { Problem } from "../model";

/** How the validation checks report a problem at a location (`node: peers[3]`); errors unless told. */
export type Report = (where: string, message: string, severity?: Problem["severity"], hint?: string) => void;
