// A small sample contract (A4, two pages) written by hand, so the demo works without a file
// at hand. Text is ASCII in the standard Helvetica font: no font file needs embedding.

function escape(text) {
  return text.replace(/[\\()]/g, (c) => `\\${c}`)
}

function pageStream(lines) {
  const ops = ['BT', '/F1 20 Tf', '72 760 Td', `(${escape(lines[0])}) Tj`, '/F1 11 Tf', '0 -36 Td']
  for (const line of lines.slice(1)) ops.push(`(${escape(line)}) Tj`, '0 -18 Td')
  ops.push('ET', '0.8 w', '320 140 m 540 140 l S', 'BT /F1 10 Tf 320 126 Td (Party A seal / date) Tj ET')
  return ops.join('\n')
}

export function samplePdf(title = 'Sample Service Contract') {
  const pages = [
    [
      title,
      `No. DEMO-${new Date().toISOString().slice(0, 10)}`,
      '',
      'Party A: the enterprise holding the electronic seal.',
      'Party B: Jilin demo relying system (eseal demo).',
      '',
      '1. Party B provides the services described in the annex.',
      '2. Party A pays the agreed fees within 30 days of the invoice.',
      '3. This contract is signed with a PAdES electronic seal; the',
      '   signature can be verified at /verify/ on the platform.',
    ],
    [title + ' (continued)', '', '4. Disputes are settled by negotiation.', '5. This contract takes effect when sealed.'],
  ]
  const objects = []
  const add = (body) => objects.push(body) // object number = index + 1
  add('<< /Type /Catalog /Pages 2 0 R >>')
  add(null) // pages, filled below
  add('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>')
  const kids = []
  for (const lines of pages) {
    const content = pageStream(lines)
    add(`<< /Length ${content.length} >>\nstream\n${content}\nendstream`)
    const contentRef = objects.length
    add(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents ${contentRef} 0 R >>`)
    kids.push(`${objects.length} 0 R`)
  }
  objects[1] = `<< /Type /Pages /Kids [${kids.join(' ')}] /Count ${kids.length} >>`

  let out = '%PDF-1.7\n%\xe2\xe3\xcf\xd3\n'
  const offsets = []
  objects.forEach((body, i) => {
    offsets.push(out.length)
    out += `${i + 1} 0 obj\n${body}\nendobj\n`
  })
  const xref = out.length
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`
  for (const off of offsets) out += `${String(off).padStart(10, '0')} 00000 n \n`
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`
  // every character is one byte (Latin-1)
  const bytes = Uint8Array.from(out, (c) => c.charCodeAt(0))
  return new File([bytes], 'sample-contract.pdf', { type: 'application/pdf' })
}
