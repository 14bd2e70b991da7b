export * from "./contract";
export * from "./drift";
export * from "./errors";
export * from "./node";
export * from "./plan";
export * from "./pool";
export * from "./shell";
export * from "./ssh";
