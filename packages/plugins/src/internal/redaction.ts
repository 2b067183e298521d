/**
 * The redaction engine: sensitive keys, pattern classes and a deep,
 * copy-on-write walk that is safe on cycles and bounded in depth.
 */
import { isIPv6 } from "node:net"
import { Redacted } from "effect"

/** Lowercase, without `-` and `_`: `Set-Cookie`, `set_cookie` and `setcookie` are one key. */
export const normalizeKey = (key: string): string => key.toLowerCase().replace(/[-_]/g, "")

/**
 * The 47 sensitive keys (distinct after normalisation). A value under one of
 * them is masked whole, whatever its type.
 */
export const sensitiveKeys: ReadonlyArray<string> = [
  "password",
  "passwd",
  "pwd",
  "passphrase",
  "secret",
  "client_secret",
  "secret_key",
  "webhook_secret",
  "token",
  "access_token",
  "refresh_token",
  "id_token",
  "auth_token",
  "csrf_token",
  "xsrf_token",
  "bearer",
  "jwt",
  "api_key",
  "passcode",
  "x-api-key",
  "authorization",
  "proxy-authorization",
  "auth",
  "credentials",
  "cookie",
  "set-cookie",
  "session",
  "session_id",
  "private_key",
  "encryption_key",
  "master_key",
  "signing_key",
  "aws_secret_access_key",
  "connection_string",
  "credit_card",
  "card_number",
  "cc_number",
  "cvv",
  "cvc",
  "ssn",
  "pin",
  "otp",
  "totp",
  "mfa_code",
  "security_answer",
  "account_number",
  "routing_number"
]

/** Keys that end with one of these are sensitive too (`dbPassword`, `stripe_secret`). */
const sensitiveSuffixes = ["password", "passwd", "secret", "token", "apikey", "privatekey"]

/** A pattern class: what it finds in a string, and an optional second check. */
export interface PatternClass {
  readonly name: string
  readonly regex: RegExp
  readonly validate?: ((match: string) => boolean) | undefined
  /** A cheap necessary condition (`digits` counts 0-9 in `s`): the regex runs only when it holds. */
  readonly hint: (s: string, digits: number) => boolean
  /** Index of the capture group to mask (the whole match when absent). */
  readonly group?: number | undefined
}

const luhn = (digits: string): boolean => {
  let sum = 0
  let double = false
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48
    if (double) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
    double = !double
  }
  return sum % 10 === 0
}

const isCardNumber = (match: string): boolean => {
  const digits = match.replace(/[ -]/g, "")
  if (digits.length < 13 || digits.length > 19) return false
  if (!/^(?:4|5[1-5]|2[2-7]|3[47]|3[0689]|6[05]|35)/.test(digits)) return false
  return luhn(digits)
}

const entropy = (s: string): number => {
  const counts = new Map<string, number>()
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1)
  let bits = 0
  for (const n of counts.values()) {
    const p = n / s.length
    bits -= p * Math.log2(p)
  }
  return bits
}

// Mixed case and digits: rules out hex digests, words, paths and numbers.
const looksRandom = (s: string, minEntropy: number): boolean =>
  /[a-z]/.test(s) && /[A-Z]/.test(s) && /\d/.test(s) && entropy(s) >= minEntropy

const secretWord = /pass|secret|token|key|auth/i

/**
 * The pattern classes, applied in this order (specific before general: a
 * card number before a phone, a service-account email before an email, a URL
 * password before an email).
 */
export const patternClasses: ReadonlyArray<PatternClass> = [
  {
    name: "private_key",
    hint: (s) => s.includes("-----BEGIN"),
    regex: /-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----[\s\S]*?-----END (?:[A-Z]+ )*PRIVATE KEY-----/g
  },
  {
    name: "url_password",
    hint: (s) => s.includes("://") && s.includes("@"),
    regex: /\b[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^\s:/@]+:([^\s@/]+)@/g,
    group: 1
  },
  {
    // `?password=…`, `&access_token=…`, `&X-Amz-Signature=…`: the value, up to the next `&` or `#`.
    name: "url_query_secret",
    hint: (s) => s.includes("=") && (s.includes("?") || s.includes("&") || s.includes(";")),
    regex:
      /[?&;]((?:password|passwd|pwd|pass|secret|client_secret|token|access_token|refresh_token|id_token|auth_token|api_key|apikey|api-key|key|auth|signature|sig|x-amz-signature|x-amz-credential|x-amz-security-token|code)=)([^&#\s"'<>]+)/gi,
    group: 2
  },
  {
    // ADO.NET / ODBC / Azure connection strings: `Password=…;`, `AccountKey=…;` (a value may hold spaces).
    name: "connection_string_secret",
    hint: (s) => s.includes("=") && s.includes(";"),
    regex:
      /(?:^|[;\s"'])((?:password|pwd|passwd|accountkey|sharedaccesskey|sharedaccesssignature|clientsecret)\s*=\s*)([^;"'\n]+(?=;)|[^;"'\s]+)/gi,
    group: 2
  },
  {
    // A secret written as an assignment inside free text or embedded JSON: `password: hunter2`,
    // `api_key=…`, `"token":"…"`.
    name: "assigned_secret",
    hint: (s) => (s.includes("=") || s.includes(":")) && secretWord.test(s),
    regex:
      /\b((?:password|passwd|passphrase|secret|client_secret|secret_key|token|access_token|refresh_token|auth_token|api[_-]?key|private[_-]?key|authorization)["']?\s*[:=]\s*["']?)(?!\[REDACTED|(?:Bearer|Basic|Token)\s)([^\s"',;&}\]]{3,})/gi,
    group: 2,
    // Prose says "reset your password: see the docs"; a secret after a bare colon has a digit or a
    // symbol in it. After `=` or a quote (`"token":"…"`) any value counts.
    validate: (match) => /[="']/.test(match) || /[^A-Za-z]/.test(match.slice(match.indexOf(":") + 1).trim())
  },
  {
    name: "jwt",
    hint: (s) => s.includes("eyJ"),
    regex: /\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g
  },
  {
    name: "bearer",
    hint: (s) => /bearer|basic|token/i.test(s),
    regex: /\b(?:Bearer|Basic|Token)\s+([A-Za-z0-9._~+/-]{8,}=*)/gi,
    group: 1
  },
  {
    name: "aws_access_key_id",
    hint: (s) => s.length >= 20 && /A[KSGIRNB][A-Z]A/.test(s),
    regex: /\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[A-Z0-9]{16}\b/g
  },
  {
    name: "aws_arn",
    hint: (s) => s.includes("arn:aws"),
    regex: /\barn:aws(?:-cn|-us-gov)?:[a-z0-9-]+:[a-z0-9-]*:(?:\d{12})?:[^\s"',;]+/g
  },
  { name: "gcp_api_key", hint: (s) => s.includes("AIza"), regex: /\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g },
  {
    name: "gcp_service_account",
    hint: (s) => s.includes(".iam.gserviceaccount.com"),
    regex: /\b[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]{4,28}[a-z0-9]\.iam\.gserviceaccount\.com\b/g
  },
  {
    name: "github_token",
    hint: (s) => s.includes("gh") || s.includes("github_pat_"),
    regex: /\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b/g
  },
  { name: "gitlab_token", hint: (s) => s.includes("gl"), regex: /\bgl(?:pat|ptt|dt|rt|soat|cbt)-[A-Za-z0-9_-]{20,}/g },
  { name: "slack_token", hint: (s) => s.includes("xox"), regex: /\bxox[abposre]-[A-Za-z0-9-]{10,}/g },
  {
    name: "slack_webhook",
    hint: (s) => s.includes("hooks.slack.com"),
    regex: /https:\/\/hooks\.slack\.com\/(?:services|workflows)\/[A-Za-z0-9]+\/[A-Za-z0-9]+\/[A-Za-z0-9]+/g
  },
  {
    name: "stripe_key",
    hint: (s) => s.includes("_live_") || s.includes("_test_") || s.includes("whsec_"),
    regex: /\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}\b|\bwhsec_[A-Za-z0-9]{24,}\b/g
  },
  {
    name: "aws_secret_access_key",
    hint: (s) => s.length >= 40,
    regex: /(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/g,
    validate: (s) => looksRandom(s, 4)
  },
  {
    name: "base64_secret",
    hint: (s) => s.length >= 41,
    regex: /(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{41,}={0,2}(?![A-Za-z0-9+/=_-])/g,
    validate: (s) => looksRandom(s, 4.2)
  },
  {
    name: "email",
    hint: (s) => s.includes("@"),
    regex: /\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b/g
  },
  {
    name: "credit_card",
    hint: (_, digits) => digits >= 13,
    regex: /\b\d(?:[ -]?\d){12,18}\b/g,
    validate: isCardNumber
  },
  {
    name: "ssn",
    hint: (s, digits) => digits >= 9 && s.includes("-"),
    regex: /\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b/g
  },
  { name: "phone_e164", hint: (s, digits) => digits >= 8 && s.includes("+"), regex: /(?<![\w+])\+[1-9]\d{7,14}\b/g },
  {
    name: "phone_us",
    hint: (_, digits) => digits >= 10,
    regex: /(?<![\w+])(?:\+?1[ .-]?)?(?:\(\d{3}\)\s?|\b\d{3}[ .-])\d{3}[ .-]\d{4}\b/g
  },
  {
    name: "phone_international",
    hint: (s, digits) => digits >= 6 && s.includes("+"),
    // Groups of 2 to 8 digits after the country code (`+49 30 901820`, `+44 20 7946 0958`), 7 to 15 digits in all.
    regex: /(?<![\w+])\+[1-9]\d{0,2}[ .-]\(?\d{1,4}\)?(?:[ .-]\d{2,8}){1,4}\b/g,
    validate: (s) => {
      const digits = s.replace(/\D/g, "").length
      return digits >= 7 && digits <= 15
    }
  },
  {
    name: "ipv4",
    hint: (s, digits) => digits >= 4 && s.includes("."),
    regex: /(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\d.])/g
  },
  {
    name: "ipv6",
    hint: (s) => s.includes("::") || (s.length >= 15 && s.split(":").length >= 8),
    regex: /(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?![\w:])/g,
    validate: (s) => isIPv6(s) && (s.includes("::") || s.split(":").length === 8)
  }
]

/** Resolved engine options. */
export interface EngineOptions {
  readonly mask: string
  readonly labels: boolean
  readonly maxDepth: number
  readonly keys: boolean
  readonly patterns: boolean
  readonly extraKeys: ReadonlyArray<string>
  readonly disabled: ReadonlyArray<string>
  /** Replace `Redacted` values by a `Redacted` of the mask (keeps the type) rather than the mask string. */
  readonly keepRedactedType: boolean
}

export interface Engine {
  /** Masks one value (deep); returns the same reference when nothing changed. */
  readonly value: (u: unknown) => unknown
  /** Masks the patterns in one string. */
  readonly string: (s: string) => string
  readonly isSensitiveKey: (key: string) => boolean
}

export const CIRCULAR = "[Circular]"
export const TRUNCATED = "[Truncated]"

export const makeEngine = (options: EngineOptions): Engine => {
  const keySet = new Set([...sensitiveKeys, ...options.extraKeys].map(normalizeKey))
  const keyCache = new Map<string, boolean>()
  const isSensitiveKey = (key: string): boolean => {
    let hit = keyCache.get(key)
    if (hit === undefined) {
      const k = normalizeKey(key)
      hit = keySet.has(k) || sensitiveSuffixes.some((s) => k.endsWith(s))
      if (keyCache.size < 10_000) keyCache.set(key, hit)
    }
    return hit
  }
  const classes = options.patterns ? patternClasses.filter((c) => !options.disabled.includes(c.name)) : []
  const maskFor = (name: string) =>
    !options.labels
      ? options.mask
      : options.mask.endsWith("]")
        ? `${options.mask.slice(0, -1)}:${name}]`
        : `${options.mask}:${name}`
  const masks = new Map(classes.map((c) => [c.name, maskFor(c.name)]))
  const redactedMask = Redacted.make(options.mask)

  const string = (s: string): string => {
    if (s.length < 3) return s
    let digits = 0
    for (let i = 0; i < s.length; i++) {
      const code = s.charCodeAt(i)
      if (code >= 48 && code <= 57) digits++
    }
    let out = s
    for (let i = 0; i < classes.length; i++) {
      const c = classes[i]!
      if (!c.hint(out, digits)) continue
      c.regex.lastIndex = 0
      if (!c.regex.test(out)) continue
      c.regex.lastIndex = 0
      const mask = masks.get(c.name)!
      out = out.replace(c.regex, (match: string, ...groups: Array<unknown>) => {
        if (c.validate !== undefined && !c.validate(match)) return match
        if (c.group === undefined) return mask
        // The secret is the match's last part (`user:PW@`, `Bearer TOKEN`, `key=VALUE`): splice it
        // from the end, so a key that repeats the value (`pwd=pwd`) keeps its name.
        const part = groups[c.group - 1] as string
        const at = match.lastIndexOf(part)
        return match.slice(0, at) + mask + match.slice(at + part.length)
      })
    }
    return out
  }

  const maskWhole = (u: unknown): unknown =>
    Redacted.isRedacted(u) && options.keepRedactedType ? redactedMask : u === undefined || u === null ? u : options.mask

  // A string that holds a JSON object or array (a serialised body, a queued job) is parsed and
  // walked like a payload, so its keys are masked too, then written back.
  const embeddedJson = (s: string, depth: number, seen: Set<object>): string | undefined => {
    const first = s.charCodeAt(0)
    if ((first !== 123 && first !== 91) || s.length > 1_000_000) return undefined
    let parsed: unknown
    try {
      parsed = JSON.parse(s)
    } catch {
      return undefined
    }
    if (typeof parsed !== "object" || parsed === null) return undefined
    const walked = walk(parsed, depth + 1, seen)
    return walked === parsed ? s : JSON.stringify(walked)
  }

  const walk = (u: unknown, depth: number, seen: Set<object>): unknown => {
    if (typeof u === "string") {
      const json = options.keys ? embeddedJson(u, depth, seen) : undefined
      if (json !== undefined) return json
      return classes.length === 0 ? u : string(u)
    }
    if (typeof u !== "object" || u === null) return u
    if (Redacted.isRedacted(u)) return options.keepRedactedType ? redactedMask : options.mask
    if (seen.has(u)) return CIRCULAR
    if (Array.isArray(u)) {
      if (depth >= options.maxDepth) return TRUNCATED
      seen.add(u)
      let copy: Array<unknown> | undefined
      for (let i = 0; i < u.length; i++) {
        const v = u[i]
        const r = walk(v, depth + 1, seen)
        if (r !== v) {
          copy ??= u.slice()
          copy[i] = r
        }
      }
      seen.delete(u)
      return copy ?? u
    }
    const proto = Object.getPrototypeOf(u)
    if (proto !== Object.prototype && proto !== null) return u
    if (depth >= options.maxDepth) return TRUNCATED
    seen.add(u)
    let copy: Record<string, unknown> | undefined
    const record = u as Record<string, unknown>
    for (const key in record) {
      const v = record[key]
      const r = options.keys && isSensitiveKey(key) ? maskWhole(v) : walk(v, depth + 1, seen)
      if (r !== v) {
        copy ??= { ...record }
        copy[key] = r
      }
    }
    seen.delete(u)
    return copy ?? u
  }

  return { value: (u) => walk(u, 0, new Set()), string, isSensitiveKey }
}
