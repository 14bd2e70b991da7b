export * from "./cidr";
export * from "./connection";
export * from "./endpoint";
export * from "./fabric";
export * from "./ifname";
export * from "./key";
export * from "./parse";
export * from "./problem";
