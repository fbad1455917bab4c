/** A PostgreSQL identifier quoted for SQL text: wrapped in double quotes, inner quotes doubled. */
export const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;
