export * from "./errors";
export * from "./node";
export * from "./pool";
export * from "./shell";
export * from "./ssh";
export * from "./converge";
export * from "./drift";
