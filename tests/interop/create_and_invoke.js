// With the npm `openwhisk` client (not ours): create a package and a Python action on the
// API host, invoke it blocking for its result, read it back, delete both; print what it saw.
const openwhisk = require('openwhisk')

async function main () {
  const ow = openwhisk({ apihost: process.env.APIHOST, api_key: process.env.AUTH })
  const code = 'def main(args):\n    return {"greeting": "hello " + args.get("name", "")}\n'
  await ow.packages.update({ name: 'npmclient' })
  await ow.actions.update({ name: 'npmclient/hello', action: code, kind: 'python:default',
                            params: { name: 'default' }, annotations: { 'web-export': true } })
  const result = await ow.actions.invoke({ name: 'npmclient/hello', blocking: true,
                                           result: true, params: { name: 'node' } })
  const listed = (await ow.actions.list()).map(a => `${a.namespace}/${a.name}`)
  const fetched = await ow.actions.get({ name: 'npmclient/hello' })
  await ow.actions.delete({ name: 'npmclient/hello' })
  await ow.packages.delete({ name: 'npmclient' })
  let refused = ''
  try {
    await openwhisk({ apihost: process.env.APIHOST, api_key: 'wrong:key' }).actions.list()
  } catch (error) {
    refused = `${error.statusCode}`
  }
  console.log(JSON.stringify({ result, listed, kind: fetched.exec.kind, refused }))
}

main().catch(error => { console.error(error.message); process.exit(1) })
