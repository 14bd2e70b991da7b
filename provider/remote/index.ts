export * from "./contract";
export * from "./converge";
export * from "./drift";
export * from "./errors";
export * from "./node";
export * from "./pool";
export * from "./shell";
export * from "./ssh";
