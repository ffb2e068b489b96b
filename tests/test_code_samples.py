"""Source files for the code-skeleton tests: one realistic module per language, long
enough to be compressed, each with a function the tests ask about by behaviour."""

from __future__ import annotations

from headroom.ccr.markers import find_markers
from headroom.compressors.base import Compressed

PYTHON = '''"""Parameter types for a small command line toolkit.

Each type converts the raw string from the command line into a Python value and
reports a helpful message when that is not possible.

Types are reused across commands, so they must not keep per-call state.
"""

import os
import typing as t
from gettext import gettext as _

DEFAULT_SEPARATOR = ","


class ParamType:
    """Base class for parameter types.

    Subclasses implement :meth:`convert`; the default implementation returns the
    value unchanged, which is what plain strings need.
    """

    name: str = "text"

    def convert(self, value: t.Any, param: t.Optional[str], ctx: t.Optional[dict]) -> t.Any:
        """Convert the value to the correct type.

        This is not called if the value is None (the missing value).
        """
        if isinstance(value, bytes):
            try:
                return value.decode("utf-8")
            except UnicodeError:
                return value.decode("latin-1", "replace")
        return value

    def split_envvar_value(self, rv: str) -> t.Sequence[str]:
        """Given a value from an environment variable this splits it up."""
        rv = rv.strip()
        if not rv:
            return []
        parts = rv.split(DEFAULT_SEPARATOR)
        cleaned = [part.strip() for part in parts]
        return [part for part in cleaned if part]

    def fail(self, message: str, param: t.Optional[str] = None) -> "t.NoReturn":
        """Helper method to fail with an invalid value message."""
        detail = f"{param}: {message}" if param else message
        raise ValueError(detail)


class FloatRange(ParamType):
    """Restrict a float value to a range of accepted values.

    See the documentation of the base class for the conversion rules.
    """

    name = "float range"

    def __init__(
        self,
        min: t.Optional[float] = None,
        max: t.Optional[float] = None,
        min_open: bool = False,
        max_open: bool = False,
        clamp: bool = False,
    ) -> None:
        self.min = min
        self.max = max
        self.min_open = min_open
        self.max_open = max_open
        self.clamp = clamp
        if (min_open or max_open) and clamp:
            raise TypeError("Clamping is not supported for open bounds.")
        if min is not None and max is not None and min > max:
            raise ValueError("The lower bound must not exceed the upper bound.")

    def convert(self, value: t.Any, param: t.Optional[str], ctx: t.Optional[dict]) -> t.Any:
        rv = float(value)
        lt_min = self.min is not None and (rv <= self.min if self.min_open else rv < self.min)
        gt_max = self.max is not None and (rv >= self.max if self.max_open else rv > self.max)
        if self.clamp:
            if lt_min:
                return self.min
            if gt_max:
                return self.max
        if lt_min or gt_max:
            self.fail(_("{value} is not in the range {range}.").format(value=rv, range=self.describe()), param)
        return rv

    def describe(self) -> str:
        """Describe the range for use in help text."""
        low = "<" if self.min_open else "<="
        high = "<" if self.max_open else "<="
        if self.min is None:
            return f"x{high}{self.max}"
        if self.max is None:
            return f"{self.min}{low}x"
        return f"{self.min}{low}x{high}{self.max}"


def env_path(name: str, default: str = "") -> str:
    """Read a path from the environment and expand the user's home directory."""
    raw = os.environ.get(name, default)
    if not raw:
        return default
    expanded = os.path.expanduser(raw)
    normalized = os.path.normpath(expanded)
    return normalized
'''

JAVASCRIPT = '''/*!
 * tiny-express
 * Copyright(c) 2014 Example Authors
 * MIT Licensed
 */

'use strict';

var sign = require('cookie-signature').sign;
var cookie = require('cookie');

var res = Object.create(null);
module.exports = res;

/**
 * Set the HTTP status code for the response.
 *
 * Expects an integer in the range 100-999; anything else is a caller error
 * and is reported instead of being silently sent.
 *
 * @param {number} code
 * @return {ServerResponse}
 * @public
 */

res.status = function status(code) {
  if (typeof code !== 'number' || code < 100 || code > 999) {
    throw new RangeError('Invalid status code: ' + code);
  }
  this.statusCode = code;
  return this;
};

/**
 * Set cookie `name` to `value`, with the given `options`.
 *
 * Options:
 *   - `maxAge`   max-age in milliseconds, converted to `expires`
 *   - `signed`   sign the cookie
 *   - `path`     defaults to "/"
 *
 * @param {String} name
 * @param {String|Object} value
 * @param {Object} [options]
 * @return {ServerResponse} for chaining
 * @public
 */

res.cookie = function (name, value, options) {
  var opts = Object.assign({}, options);
  var secret = this.req.secret;
  var signed = opts.signed;

  if (signed && !secret) {
    throw new Error('cookieParser("secret") required for signed cookies');
  }

  var val = typeof value === 'object'
    ? 'j:' + JSON.stringify(value)
    : String(value);

  if (signed) {
    val = 's:' + sign(val, secret);
  }

  if (opts.maxAge != null) {
    var maxAge = opts.maxAge - 0;
    if (!isNaN(maxAge)) {
      opts.expires = new Date(Date.now() + maxAge);
      opts.maxAge = Math.floor(maxAge / 1000);
    }
  }

  if (opts.path == null) {
    opts.path = '/';
  }

  this.append('Set-Cookie', cookie.serialize(name, String(val), opts));
  return this;
};

/**
 * Append additional header `field` with value `val`.
 *
 * @param {String} field
 * @param {String|Array} val
 * @return {ServerResponse} for chaining
 * @public
 */

res.append = function append(field, val) {
  var prev = this.get(field);
  var value = val;

  if (prev) {
    value = Array.isArray(prev) ? prev.concat(val)
      : Array.isArray(val) ? [prev].concat(val)
        : [prev, val];
  }

  return this.set(field, value);
};

class Router {
  constructor(options) {
    this.stack = [];
    this.caseSensitive = Boolean(options && options.caseSensitive);
    this.strict = Boolean(options && options.strict);
    this.mergeParams = Boolean(options && options.mergeParams);
  }

  use(path, handler) {
    if (typeof path === 'function') {
      handler = path;
      path = '/';
    }
    this.stack.push({ path: path, handler: handler, end: false });
    return this;
  }
}

module.exports.Router = Router;
'''

TYPESCRIPT = '''import { EventEmitter } from "events";

export interface RetryOptions {
  attempts: number;
  delayMs: number;
  factor?: number;
}

export type Handler<T> = (value: T) => Promise<void>;

export const DEFAULT_RETRY: RetryOptions = { attempts: 3, delayMs: 100, factor: 2 };

/**
 * A queue that retries failed handlers with exponential backoff.
 *
 * Jobs run one at a time, in the order they were added; a job that keeps failing
 * after the last attempt is reported through the "failed" event.
 */
export class RetryQueue<T> extends EventEmitter {
  private readonly jobs: T[] = [];
  private running = false;

  constructor(private readonly handler: Handler<T>, private readonly options: RetryOptions = DEFAULT_RETRY) {
    super();
  }

  push(job: T): void {
    this.jobs.push(job);
    if (!this.running) {
      void this.drain();
    }
  }

  private async drain(): Promise<void> {
    this.running = true;
    while (this.jobs.length > 0) {
      const job = this.jobs.shift() as T;
      const ok = await this.attempt(job);
      if (!ok) {
        this.emit("failed", job);
      }
    }
    this.running = false;
  }

  private async attempt(job: T): Promise<boolean> {
    let delay = this.options.delayMs;
    for (let i = 0; i < this.options.attempts; i++) {
      try {
        await this.handler(job);
        return true;
      } catch (err) {
        this.emit("retry", job, err);
        await sleep(delay);
        delay = delay * (this.options.factor ?? 2);
      }
    }
    return false;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      clearTimeout(timer);
      resolve();
    }, ms);
  });
}

export const backoff = (attempt: number, base: number): number => {
  const jitter = Math.floor(Math.random() * base);
  const exponent = Math.min(attempt, 10);
  const delay = base * 2 ** exponent;
  return delay + jitter;
};
'''

GO = '''// Copyright 2013-2022 The Example Authors
//
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.

// Package cli is a tiny command framework.
package cli

import (
	"errors"
	"fmt"
	"strings"
)

// Command is a node in the command tree.
type Command struct {
	// Use is the one-line usage message.
	Use string
	// PersistentPreRun runs before Run for this command and its children.
	PersistentPreRun func(cmd *Command, args []string)
	// Run does the work.
	Run func(cmd *Command, args []string)

	parent   *Command
	commands []*Command
}

// ErrNoRun is returned when a command has nothing to run.
var ErrNoRun = errors.New("cli: command has no Run function")

// Name returns the command's name: the first word of Use.
func (c *Command) Name() string {
	name := c.Use
	i := strings.Index(name, " ")
	if i >= 0 {
		name = name[:i]
	}
	return name
}

// AddCommand adds one or more commands to this parent command.
func (c *Command) AddCommand(cmds ...*Command) {
	for i, x := range cmds {
		if cmds[i] == c {
			panic("Command can't be a child of itself")
		}
		cmds[i].parent = c
		c.commands = append(c.commands, x)
	}
}

// execute runs the persistent pre-run hook of the closest command that has one, then Run.
func (c *Command) execute(args []string) (err error) {
	if c.Run == nil {
		return ErrNoRun
	}
	for p := c; p != nil; p = p.parent {
		if p.PersistentPreRun != nil {
			p.PersistentPreRun(c, args)
			break
		}
	}
	c.Run(c, args)
	return nil
}

// Execute finds the command for args and runs it.
func (c *Command) Execute(args []string) error {
	cmd, rest, err := c.find(args)
	if err != nil {
		return fmt.Errorf("cli: %w", err)
	}
	return cmd.execute(rest)
}

func (c *Command) find(args []string) (*Command, []string, error) {
	cmd := c
	for len(args) > 0 {
		next := (*Command)(nil)
		for _, sub := range cmd.commands {
			if sub.Name() == args[0] {
				next = sub
			}
		}
		if next == nil {
			break
		}
		cmd, args = next, args[1:]
	}
	return cmd, args, nil
}
'''

RUST = '''use crate::error::{Error, ErrorCode, Result};
use alloc::vec::Vec;

/// Trait used by the deserializer for iterating over input. This is manually
/// "specialized" for iterating over &[u8]. Once feature(specialization) is
/// stable we can use actual specialization.
///
/// This trait is sealed and cannot be implemented for types outside of
/// `serde_json`.
pub trait Read<'de> {
    fn next(&mut self) -> Result<Option<u8>>;
    fn decode_hex_escape(&mut self) -> Result<u16>;
}

pub struct SliceRead<'a> {
    slice: &'a [u8],
    index: usize,
}

impl<'a> SliceRead<'a> {
    /// Create a JSON input source to read from a slice of bytes.
    pub fn new(slice: &'a [u8]) -> Self {
        SliceRead {
            slice,
            index: 0,
        }
    }

    fn position_of_index(&self, i: usize) -> (usize, usize) {
        let mut line = 1;
        let mut column = 0;
        for ch in &self.slice[..i] {
            match *ch {
                b'\\n' => {
                    line += 1;
                    column = 0;
                }
                _ => {
                    column += 1;
                }
            }
        }
        (line, column)
    }
}

fn error<'de, R: ?Sized + Read<'de>, T>(read: &R, reason: ErrorCode) -> Result<T> {
    let _ = read;
    Err(Error::syntax(reason, 0, 0))
}

/// Parses a JSON escape sequence and appends it into the scratch space.
fn parse_escape<'de, R: Read<'de>>(read: &mut R, validate: bool, scratch: &mut Vec<u8>) -> Result<()> {
    fn encode_surrogate(scratch: &mut Vec<u8>, n: u16) {
        scratch.extend_from_slice(&[
            (n >> 12 & 0b0000_1111) as u8 | 0b1110_0000,
            (n >> 6 & 0b0011_1111) as u8 | 0b1000_0000,
            (n & 0b0011_1111) as u8 | 0b1000_0000,
        ]);
    }

    let c = match read.decode_hex_escape()? {
        n @ 0xDC00..=0xDFFF => {
            return if validate {
                error(read, ErrorCode::LoneLeadingSurrogateInHexEscape)
            } else {
                encode_surrogate(scratch, n);
                Ok(())
            };
        }
        n => char::from_u32(n as u32).unwrap(),
    };
    scratch.extend_from_slice(c.encode_utf8(&mut [0_u8; 4]).as_bytes());
    Ok(())
}

static HEX: [u8; 32] = [
    255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255,
];
'''

JAVA = '''/*
 * Copyright (c) 2012, 2019, Example and/or its affiliates. All rights reserved.
 * DO NOT ALTER OR REMOVE COPYRIGHT NOTICES OR THIS FILE HEADER.
 *
 * This code is free software; you can redistribute it and/or modify it.
 */
package example.time;

import java.util.Objects;

/**
 * A time-based amount of time, such as '34.5 seconds'.
 * <p>
 * This class models a quantity or amount of time in terms of seconds and nanoseconds.
 */
public final class Duration implements Comparable<Duration> {

    /** Constant for a duration of zero. */
    public static final Duration ZERO = new Duration(0, 0);
    private static final long NANOS_PER_DAY = 86_400_000_000_000L;

    private final long seconds;
    private final int nanos;

    private Duration(long seconds, int nanos) {
        super();
        this.seconds = seconds;
        this.nanos = nanos;
    }

    /**
     * Obtains a {@code Duration} representing a number of seconds.
     * <p>
     * The nanosecond in second field is set to zero.
     *
     * @param seconds  the number of seconds, positive or negative
     * @return a {@code Duration}, not null
     */
    public static Duration ofSeconds(long seconds) {
        if (seconds == 0) {
            return ZERO;
        }
        return new Duration(seconds, 0);
    }

    /**
     * Returns a copy of this {@code Duration} truncated to the specified unit.
     * <p>
     * Truncating the duration returns a copy of the original with conceptual fields
     * smaller than the specified unit set to zero.
     *
     * @param unitNanos  the unit to truncate to, in nanoseconds
     * @return a {@code Duration} based on this duration with the time truncated, not null
     */
    public Duration truncatedTo(long unitNanos) {
        if (unitNanos > NANOS_PER_DAY) {
            throw new IllegalArgumentException("Unit is too large to be used for truncation");
        }
        if ((NANOS_PER_DAY % unitNanos) != 0) {
            throw new IllegalArgumentException("Unit must divide into a standard day without remainder");
        }
        long nod = (seconds % 86400) * 1_000_000_000L + nanos;
        long result = (nod / unitNanos) * unitNanos;
        return plusNanos(result - nod);
    }

    public Duration plusNanos(long nanosToAdd) {
        if (nanosToAdd == 0) {
            return this;
        }
        long secs = Math.addExact(seconds, nanosToAdd / 1_000_000_000L);
        int nos = (int) (nanos + nanosToAdd % 1_000_000_000L);
        return new Duration(secs, nos);
    }

    @Override
    public int compareTo(Duration otherDuration) {
        int cmp = Long.compare(seconds, otherDuration.seconds);
        if (cmp != 0) {
            return cmp;
        }
        return nanos - otherDuration.nanos;
    }

    @Override
    public boolean equals(Object other) {
        if (this == other) {
            return true;
        }
        return (other instanceof Duration otherDuration)
                && this.seconds == otherDuration.seconds
                && this.nanos == otherDuration.nanos;
    }
}
'''

SAMPLES = {"python": PYTHON, "javascript": JAVASCRIPT, "typescript": TYPESCRIPT, "go": GO, "rust": RUST,
           "java": JAVA}


def restore(comp: Compressed) -> str:
    """The input rebuilt from a compressed output: every line holding a marker becomes
    the original its ref stands for (each marker replaced whole lines)."""
    originals = {o.ref: o.original for o in comp.omissions}
    lines = []
    for line in comp.text.split("\n"):
        refs = [m.ref for m in find_markers(line) if m.ref]
        lines.append(originals[refs[0]] if refs else line)
    return "\n".join(lines)


def test_samples_parse_cleanly() -> None:
    """The fixtures are valid code, so any syntax error in an output is the skeleton's."""
    from headroom.compressors.code import syntax_errors
    from headroom.compressors.code.languages import grammar

    for lang, text in SAMPLES.items():
        gram = grammar(lang)
        assert gram is not None, lang
        assert syntax_errors(gram.parser().parse(text.encode())) == 0, lang
