// Telling the person that the SMS with the code did not arrive (src/app/smsDelivery.js).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { UNDELIVERED, deliveryNotice, watchDelivery } from '../src/app/smsDelivery.js'

const noSleep = async () => {}

test('only a failed, unused code gets the notice', () => {
  assert.equal(deliveryNotice({ delivery: 'failed', resend_suggested: true }), UNDELIVERED)
  assert.equal(deliveryNotice({ delivery: 'failed', resend_suggested: false }), '') // already used
  assert.equal(deliveryNotice({ delivery: 'sent', resend_suggested: false }), '')
  assert.equal(deliveryNotice(null), '')
})

test('the watch asks until the report comes and tells a failure once', async () => {
  const answers = [{ delivery: 'sent' }, { delivery: 'sent' }, { delivery: 'failed', resend_suggested: true }]
  const told = []
  let asked = 0
  const end = await watchDelivery(async () => answers[asked++], (t) => told.push(t), { sleep: noSleep })
  assert.equal(end, 'failed')
  assert.equal(asked, 3)
  assert.deepEqual(told, [UNDELIVERED])
})

test('a delivered code, a provider without reports or an error end the watch quietly', async () => {
  const told = []
  assert.equal(await watchDelivery(async () => ({ delivery: 'delivered' }), (t) => told.push(t), { sleep: noSleep }), 'delivered')
  assert.equal(await watchDelivery(async () => ({ delivery: 'unknown' }), (t) => told.push(t), { sleep: noSleep }), 'unknown')
  assert.equal(await watchDelivery(async () => { throw new Error('offline') }, (t) => told.push(t), { sleep: noSleep }), 'error')
  assert.deepEqual(told, [])
})

test('the watch gives up after its asks and stops when told to', async () => {
  let asked = 0
  const pending = async () => { asked += 1; return { delivery: 'sent' } }
  assert.equal(await watchDelivery(pending, () => assert.fail('no notice'), { sleep: noSleep, times: 4 }), 'pending')
  assert.equal(asked, 4)
  let stop = false
  const end = await watchDelivery(async () => { stop = true; return { delivery: 'sent' } }, () => {}, { sleep: noSleep, stopped: () => stop })
  assert.equal(end, 'stopped')
})
