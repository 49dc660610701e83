import PDFDocument from 'pdfkit';
const doc = new PDFDocument({ size: 'A4', margin: 50, info: { Title: 'x' } });
const chunks: Buffer[] = [];
doc.on('data', (c: Buffer) => chunks.push(c));
const done = new Promise<Buffer>((r) => doc.on('end', () => r(Buffer.concat(chunks))));
doc.fontSize(16).text('Hello — “quotes” ’ é ✓');
doc.end();
const b = await done;
console.log(b.length, b.subarray(0, 8).toString());
