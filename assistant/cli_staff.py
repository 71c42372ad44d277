"""`digital-teller staff add|list|password`: staff accounts from the command line.

As for the other store commands (cli_kb.py), the CLI trusts the operating-system account that can
write the data directory; `--as NAME` names the admin recorded in the audit chain. A password
is printed once, to stdout, when the command made it, and never logged; one chosen by the
operator is read from standard input (`--stdin`), never from the command line, where other
users of the machine could read it in the process list.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def cmd_staff(args: argparse.Namespace) -> int:
    from knowledge.staff import StaffError

    from .cli_kb import _fail, _settings, _store

    store = _store(_settings(args))
    actor = args.actor or "system"
    try:
        if args.action == "list":
            for s in store.staff.list():
                print(f"{s.name}\t{s.role.name}\t{'disabled' if s.disabled else 'active'}")
            return 0
        if args.action == "password":
            if not args.name:
                return _fail("staff password needs NAME")
            chosen = sys.stdin.readline().rstrip("\r\n") if args.stdin else None
            revoked, password = store.staff.reset_password(args.name, by=actor, password=chosen)
            print(f"password of {args.name} set; {revoked} session(s) ended, any lockout lifted")
            if chosen is None:
                print("new password (shown once):")
                print(password)
            return 0
        if not args.name or not args.role:
            return _fail("staff add needs NAME and --role")
        staff, password = store.staff.add(args.name, args.role, by=actor)
        print(f"staff member {staff.name} ({staff.role.name}) added; password (shown once):")
        print(password)
        if args.api_key:
            issued = store.staff.add_api_key(staff.name, by=actor, label="cli")
            print("API key (shown once):")
            print(issued.token)
    except StaffError as exc:
        return _fail(str(exc))
    return 0


def add_staff_command(subparsers: Any, common: list[argparse.ArgumentParser]) -> None:
    staff = subparsers.add_parser("staff", parents=common, help="staff accounts")
    staff.add_argument("action", choices=["add", "list", "password"],
                       help="password: set NAME's password (generated unless --stdin), end its sessions, lift a lockout")
    staff.add_argument("name", nargs="?")
    staff.add_argument("--role", choices=["viewer", "editor", "reviewer", "admin"])
    staff.add_argument("--api-key", action="store_true", help="also issue an API key")
    staff.add_argument("--stdin", action="store_true", help="password: read the new password from standard input")
    staff.add_argument("--as", dest="actor", help="admin recorded as having added the account or set the password")
    staff.set_defaults(func=cmd_staff)
