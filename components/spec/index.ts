export * from "./schema";
export * from "./issues";
export * from "./units";
export { validateSpec } from "./validate";
export { parseSpec, loadSpecFile, readSpecDocument, stackFile, CONFIG_KEY } from "./load";
