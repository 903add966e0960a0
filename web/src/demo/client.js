// The relying system's side of the API: a client-credentials token, stamp requests, results.
import { api, send } from '@/shared/http.js'

export class RelyingClient {
  constructor(clientId, secret) {
    this.clientId = clientId
    this.secret = secret
    this.token = null
    this.expiresAt = 0
  }

  async bearer() {
    if (!this.token || Date.now() > this.expiresAt - 30_000) {
      const basic = btoa(unescape(encodeURIComponent(`${this.clientId}:${this.secret}`)))
      const body = await send('POST', api`oauth/token`, {
        form: new URLSearchParams({ grant_type: 'client_credentials' }),
        headers: { Authorization: `Basic ${basic}` },
      })
      this.token = body.access_token
      this.expiresAt = Date.now() + (body.expires_in || 300) * 1000
    }
    return { Authorization: `Bearer ${this.token}` }
  }

  async createRequest({ file, title, page, x, y }) {
    const form = new FormData()
    form.append('document', file, file.name)
    form.append('title', title)
    form.append('page', String(page))
    form.append('x', String(x))
    form.append('y', String(y))
    return send('POST', api`stamp-requests`, { form, headers: await this.bearer() })
  }

  async status(requestId) {
    return send('GET', api`stamp-requests/${requestId}`, { headers: await this.bearer() })
  }

  async qrImage(url) {
    return send('GET', url, { as: 'blob', headers: await this.bearer() })
  }

  async result(requestId) {
    return send('GET', api`stamp-requests/${requestId}/result`, { as: 'blob', headers: await this.bearer() })
  }
}
