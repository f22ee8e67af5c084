// Draws a link's QR code into an <img> (a PNG data: URL; the pages' CSP allows img-src data:).
// Used by the host page and the presenter view, never by the join page.
import { encode as encodeQr } from 'uqr';

/** `scale`: pixels per module (the image is scaled by CSS; crisp with image-rendering: pixelated). */
export function drawQr(img: HTMLImageElement, text: string, scale = 6): void {
  const qr = encodeQr(text, { ecc: 'M', border: 4 });
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = qr.size * scale;
  const g = canvas.getContext('2d')!;
  g.fillStyle = '#fff';
  g.fillRect(0, 0, canvas.width, canvas.height);
  g.fillStyle = '#000';
  qr.data.forEach((row, y) => row.forEach((dark, x) => dark && g.fillRect(x * scale, y * scale, scale, scale)));
  img.src = canvas.toDataURL('image/png');
}
