"""`orgscan permissions`: the least-privilege policies a scan needs; the audit role StackSet."""

from __future__ import annotations

import argparse
import sys

from scanner.cli.exits import EXIT_OK, EXIT_USAGE
from scanner.run.config import load_config
from scanner.run.runner import load_selected_rules


def cmd_permissions(args: argparse.Namespace) -> int:
    import json

    from scanner.aws import permissions
    from scanner.aws.regions import partition_of
    from scanner.core.engine import facts_needed

    config = load_config(args.config, role_name=args.role_name)
    acts = permissions.actions(facts_needed(load_selected_rules(config)),
                               config.collector_options,
                               all_regions=config.regions is None)
    configured = config.aws.role_name
    # The role the scan will assume: with --deploy-dir, the one the template deploys (never
    # Organizations' admin role), so the management policy allows exactly what the user is
    # told to scan with. Its ARN is in the home region's partition.
    role = (permissions.template_role_name(configured) if args.deploy_dir is not None
            else configured)
    member = permissions.member_policy(acts)
    # load_config checked that the home region has a partition.
    management = permissions.management_policy(acts, role,
                                                partition_of(config.aws.region) or "aws")
    print(json.dumps(management if args.management else member, indent=2))
    if args.deploy_dir is not None:
        try:
            args.deploy_dir.mkdir(parents=True, exist_ok=True)
            (args.deploy_dir / "audit-role-stackset.json").write_text(
                permissions.stackset_template(acts, role), encoding="utf-8")
            for name, doc in (("audit-role-policy.json", member),
                              ("management-policy.json", management)):
                (args.deploy_dir / name).write_text(json.dumps(doc, indent=2) + "\n", "utf-8")
        except OSError as exc:
            print(f"orgscan: --deploy-dir {args.deploy_dir}: cannot write: "
                  f"{exc.strerror or exc}", file=sys.stderr)
            return EXIT_USAGE
        print(f"orgscan: wrote the StackSet template and policies to {args.deploy_dir}/",
              file=sys.stderr)
        if role != configured:
            print(f"orgscan: the template deploys the read-only role {role!r} (not "
                  f"{configured!r}, which Organizations creates with admin rights), and "
                  f"management-policy.json allows assuming it: scan with --role-name {role}",
                  file=sys.stderr)
    return EXIT_OK
