# SPDX-License-Identifier: GPL-2.0-or-later
"""Argument types the ./tdx-emu commands share: a count or a number of
seconds must be positive, or argparse says so (not a traceback or a QEMU
error later)."""

import argparse


def _positive(convert, what):
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        if not value > 0:
            raise argparse.ArgumentTypeError(f"{text} must be above 0")
        return value
    return parse


count = _positive(int, "a whole number")
seconds = _positive(float, "a number of seconds")
