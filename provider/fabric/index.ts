export * from "./ifupdown2";
export * from "./keys";
export * from "./mesh";
export * from "./render";
export * from "./resolve";
export * from "./section-config";
export * from "./validate";
export * from "./read-config";
