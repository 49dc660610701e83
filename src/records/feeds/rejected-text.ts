/**
 * A rejected message's bytes as text to show or edit: UTF-8 when they are valid UTF-8, else read as Latin-1
 * (every byte one character) so that nothing is hidden; segments on their own lines. Pure.
 */
export function rejectedText(raw: Buffer): { text: string; encoding: 'utf-8' | 'latin1' } {
  let text: string;
  let encoding: 'utf-8' | 'latin1' = 'utf-8';
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    text = raw.toString('latin1');
    encoding = 'latin1';
  }
  return { text: text.replace(/\r\n|\r/g, '\n'), encoding };
}
