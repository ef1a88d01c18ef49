/** Longest excerpt of the input a reader hands to `ctx.issue`, in characters. */
export const EXCERPT_CHARS = 200;

/** The start of `text`, short enough to keep as the example of an issue. */
export const excerpt = (text: string): string => text.slice(0, EXCERPT_CHARS);
