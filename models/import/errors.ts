import { RegistryError } from "../registry.ts";

/**
 * Why a model cannot be imported, in one line naming the file, field, row or column at fault.
 * A RegistryError, so the CLI prints it as one line with exit code 1 like any registry refusal.
 */
export class ImportError extends RegistryError {}
