// Server-Sent Events, read from a fetch() stream (EventSource cannot send a bearer token).

/** Parse one SSE block ("field: value" lines) into {event, data, id, retry}. */
export function parseEvent(block) {
  const out = { event: 'message', data: '' }
  const data = []
  for (const line of block.split(/\r?\n/)) {
    if (!line || line.startsWith(':')) continue
    const i = line.indexOf(':')
    const field = i < 0 ? line : line.slice(0, i)
    const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '')
    if (field === 'data') data.push(value)
    else if (field === 'event') out.event = value
    else if (field === 'id') out.id = value
    else if (field === 'retry') out.retry = Number(value)
  }
  out.data = data.join('\n')
  return out
}

/** The events of a text/event-stream body (a ReadableStream of bytes), in order. */
export async function* readEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      buffer += value
      const blocks = buffer.split(/\r?\n\r?\n/)
      buffer = blocks.pop()
      for (const block of blocks) yield parseEvent(block)
    }
  } finally {
    reader.releaseLock()
  }
}
