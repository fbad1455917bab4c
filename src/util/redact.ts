/**
 * Keeps secrets out of every line Lifeboat prints, logs or stores. The composition root registers
 * the secrets it knows (passwords in URLs, S3 secret keys, tokens); URL credentials are masked even
 * when nobody registered them.
 */
export class Redactor {
  private readonly secrets = new Set<string>();

  add(secret: string | undefined): void {
    // Very short values would mask ordinary text everywhere; they are not worth hiding that way.
    if (secret && secret.length >= 4) this.secrets.add(secret);
  }

  /** Registers the password of a URL, if it has one. */
  addUrl(url: string | undefined): void {
    if (!url) return;
    try {
      const parsed = new URL(url);
      if (parsed.password) {
        this.add(parsed.password);
        this.add(decodeURIComponent(parsed.password));
      }
    } catch {
      // not a URL: nothing to register
    }
  }

  redact(text: string): string {
    let out = text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*):[^@/?#\s]*@/gi, '$1:***@');
    out = out.replace(/\b(password|PGPASSWORD)=\S+/gi, '$1=***');
    for (const secret of this.secrets) out = out.split(secret).join('***');
    return out;
  }
}
