/** The models that ship with the package (folders under models/): one place for their names. */
export const BUNDLED_MODELS = ['general', 'sky'] as const;
export type BundledModelName = (typeof BUNDLED_MODELS)[number];
/** The default everywhere (CLI, library, eval, web app); `sky` is the paper's model. */
export const DEFAULT_MODEL: BundledModelName = 'general';
