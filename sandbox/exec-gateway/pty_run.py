"""Runs argv on a real pseudo-terminal, as the SSM agent runs an ECS Exec command: stdout and
stderr merged, \n written as \r\n, Ctrl-C (0x03) on stdin delivered as SIGINT. Copies the
terminal's output to stdout and stdin to the terminal, and exits with the command's status.

Usage: python3 pty_run.py ARG...
"""

import os
import pty
import sys

if len(sys.argv) < 2:
    sys.exit("usage: pty_run.py ARG...")
status = pty.spawn(sys.argv[1:])
sys.exit(os.waitstatus_to_exitcode(status) if status >= 0 else 1)
