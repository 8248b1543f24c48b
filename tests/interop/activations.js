// With the npm `openwhisk` client (not ours): invoke an action without waiting, then read
// its activation back as `ow.activations` does: list (by name), get, logs, result.
const openwhisk = require('openwhisk')

async function main () {
  const ow = openwhisk({ apihost: process.env.APIHOST, api_key: process.env.AUTH })
  const started = await ow.actions.invoke({ name: 'a/hello', params: { name: 'npm' } })
  const id = started.activationId
  let got = null
  for (let tries = 0; tries < 100 && got === null; tries++) {
    try {
      got = await ow.activations.get({ name: id })
    } catch (error) {
      if (error.statusCode !== 404) throw error
      await new Promise(resolve => setTimeout(resolve, 100))
    }
  }
  const listed = await ow.activations.list({ name: 'a/hello', limit: 5 })
  const logs = await ow.activations.logs({ name: id })
  const result = await ow.activations.result({ name: id })
  console.log(JSON.stringify({ id, got, listed: listed.map(a => a.activationId), logs, result }))
}

main().catch(error => { console.error(error.message); process.exit(1) })
