// Drawing a fabric: its topology and a Graphviz picture of it.
export * from "./graph";
export * from "./topology";
