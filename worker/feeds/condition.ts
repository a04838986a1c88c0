/**
 * Feed conditions (FEEDS.md §3.2 "Condition rules"), with Gravity Forms conditional-logic
 * semantics: string comparisons, case-sensitive; `>` and `<` numeric (non-numeric → false); an
 * array source matches when any element does (`isnot`: when no element equals the value).
 */
import type { ConditionRule, FeedCondition } from '../../contract/feed';
import { resolvePointer } from './pointer';
import { stringifyValue, type RenderContext } from './template';

/** One rule as evaluated, for the dry run. */
export interface RuleResult extends ConditionRule {
  /** The value the source held (`undefined` when missing). */
  actual: unknown;
  matched: boolean;
}

export interface ConditionResult {
  result: boolean;
  rules: RuleResult[];
}

const NUMBER = /^\s*-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

function asNumber(text: string): number | undefined {
  if (!NUMBER.test(text)) return undefined;
  const number = Number(text);
  return Number.isFinite(number) ? number : undefined;
}

function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (typeof value === 'string') return value === '';
  if (Array.isArray(value)) return value.every(isEmpty);
  if (typeof value === 'object') return Object.keys(value).length === 0;
  return false;
}

function matchText(actual: string, op: ConditionRule['op'], value: string): boolean {
  switch (op) {
    case 'is':
      return actual === value;
    case 'contains':
      return actual.includes(value);
    case 'starts_with':
      return actual.startsWith(value);
    case 'ends_with':
      return actual.endsWith(value);
    case '>':
    case '<': {
      const left = asNumber(actual);
      const right = asNumber(value);
      if (left === undefined || right === undefined) return false;
      return op === '>' ? left > right : left < right;
    }
    default:
      return false;
  }
}

/** Evaluates one rule against a context. */
export function evaluateRule(rule: ConditionRule, context: RenderContext): RuleResult {
  const doc = { input: context.input, meta: context.meta, response: context.response };
  const found = resolvePointer(doc, rule.source);
  const actual = found.found ? found.value : undefined;
  let matched: boolean;
  if (rule.op === 'empty') matched = isEmpty(actual);
  else if (rule.op === 'notempty') matched = !isEmpty(actual);
  else if (Array.isArray(actual)) {
    const items = actual.map((item) => stringifyValue(item));
    if (rule.op === 'isnot') matched = !items.includes(rule.value);
    else if (rule.op === '>' || rule.op === '<') matched = false;
    else matched = items.some((item) => matchText(item, rule.op, rule.value));
  } else {
    const text = stringifyValue(actual);
    matched = rule.op === 'isnot' ? text !== rule.value : matchText(text, rule.op, rule.value);
  }
  return { ...rule, actual, matched };
}

/** Evaluates a feed's condition: `all` needs every rule, `any` one; no condition (or no rules) is true. */
export function evaluateCondition(condition: FeedCondition | null | undefined, context: RenderContext): ConditionResult {
  if (!condition || condition.rules.length === 0) return { result: true, rules: [] };
  const rules = condition.rules.map((rule) => evaluateRule(rule, context));
  const result = condition.logic === 'all' ? rules.every((r) => r.matched) : rules.some((r) => r.matched);
  return { result, rules };
}
