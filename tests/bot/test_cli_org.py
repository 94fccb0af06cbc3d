"""The `outpost` import, export, invite and deactivate commands, run as a real process."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import date
from pathlib import Path

import yaml

from db.enums import OutingStatus, ReportStatus, RequestStatus, Role
from db.models import (
    AuditLog,
    Invite,
    LeaveRequest,
    Outing,
    Person,
    PersonRole,
    Station,
    WeeklyPlan,
)
from tests.auxil.rows import fk_id
from tests.services.test_organisation import CONTRACT, richer

ROOT = Path(__file__).resolve().parents[2]


async def outpost(database_url: str, *args: str, cwd: Path) -> tuple[int, str, str]:
    """Run `outpost ARGS` against the test database; returns exit code, stdout, stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTPOST_")}
    env.update(
        {
            "OUTPOST_DATABASE_URL": database_url,
            "PYTHONPATH": str(ROOT),
            "OUTPOST_LOG_LEVEL": "WARNING",
        }
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_import_dry_run_export_round_trip(db: str, tmp_path: Path) -> None:
    """Dry run writes nothing; import, export, import again: nothing changes."""
    org = tmp_path / "org.yaml"
    org.write_text(yaml.safe_dump(richer(), allow_unicode=True), encoding="utf-8")
    code, out, _ = await outpost(db, "import", "org.yaml", "--dry-run", cwd=tmp_path)
    assert code == 0
    assert "created   station LOS" in out
    assert "dry run, nothing written" in out
    assert await Station.all().count() == 0
    code, out, _ = await outpost(db, "import", "org.yaml", cwd=tmp_path)
    assert code == 0, out
    assert "9 created, 0 updated, 0 unchanged" in out
    code, _, _ = await outpost(db, "export", "org", "--output", "export.yaml", cwd=tmp_path)
    assert code == 0
    code, out, _ = await outpost(db, "import", "export.yaml", cwd=tmp_path)
    assert code == 0
    assert "0 created, 0 updated, 9 unchanged" in out
    code, out, _ = await outpost(db, "export", "org", cwd=tmp_path)
    assert out == (tmp_path / "export.yaml").read_text(encoding="utf-8")
    code, _, _ = await outpost(db, "export", "org", "-o", "export.json", cwd=tmp_path)
    code, out, _ = await outpost(db, "import", "export.json", cwd=tmp_path)
    assert code == 0
    assert "0 created, 0 updated, 9 unchanged" in out


async def test_bad_file_names_the_entry_and_writes_nothing(db: str, tmp_path: Path) -> None:
    """Errors go to stderr, one per field, with the file's name; exit code 1."""
    data = yaml.safe_load(CONTRACT)
    data["people"].append({"telegram_id": 5, "name": "X", "roles": ["staff"], "station": "LOX"})
    data["people"].append(
        {
            "telegram_id": 6,
            "name": "Y",
            "roles": ["staff"],
            "station": "LOS",
            "phone": "12345678901234567",
        }
    )
    (tmp_path / "org.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    code, _, err = await outpost(db, "import", "org.yaml", cwd=tmp_path)
    assert code == 1
    assert "org.yaml: people[1].station: no station with code LOX" in err
    assert "org.yaml: people[2].phone: " in err
    assert "nothing was imported (2 error(s))" in err
    assert await Station.all().count() == 0
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    code, _, err = await outpost(db, "import", "broken.json", cwd=tmp_path)
    assert code == 1
    assert "broken.json: not valid JSON" in err


async def test_shipped_contacts_file_imports_from_the_repository(db: str) -> None:
    """`outpost import data/contacts.yaml` works from the repository root."""
    code, out, err = await outpost(db, "import", "data/contacts.yaml", cwd=ROOT)
    assert code == 0, err
    assert "0 updated" in out


async def test_invite_prints_a_deep_link(db: str, tmp_path: Path) -> None:
    """A single-use code in a t.me link; the sandbox bot's name without a token."""
    await Station.create(code="LOS", name="Lagos", country="NG", lat=6.4, lon=3.4)
    code, out, err = await outpost(
        db, "invite", "--role", "staff", "--station", "LOS", "--expires", "2d", cwd=tmp_path
    )
    assert code == 0, err
    invite = await Invite.get()
    assert out.strip() == f"https://t.me/outpost_demo_bot?start={invite.code}"
    assert len(invite.code) >= 24
    assert invite.role == Role.STAFF
    assert invite.expires_at is not None
    code, out, _ = await outpost(
        db, "invite", "--role", "hq", "--bot-username", "@acme_bot", cwd=tmp_path
    )
    assert code == 0
    assert out.startswith("https://t.me/acme_bot?start=")
    code, _, err = await outpost(db, "invite", "--role", "staff", cwd=tmp_path)
    assert code == 1
    assert "needs a station" in err
    code, _, err = await outpost(db, "invite", "--role", "staff", "--station", "LOX", cwd=tmp_path)
    assert code == 1
    assert "no station with code LOX" in err


async def test_deactivate_hands_over_open_items(db: str, tmp_path: Path) -> None:
    """The head leaves: outings and plans move, the successor heads the station, audit rows."""
    from services.clock import SystemClock

    now = SystemClock().now()
    station = await Station.create(code="LOS", name="Lagos", country="NG", lat=6.4, lon=3.4)
    other = await Station.create(code="NBO", name="Nairobi", country="KE", lat=-1.3, lon=36.8)
    leaver = await Person.create(telegram_id=1, name="Leaver", station=station)
    await PersonRole.create(person=leaver, role=Role.HEAD)
    await PersonRole.create(person=leaver, role=Role.STAFF)
    successor = await Person.create(telegram_id=2, name="Successor", station=station)
    await PersonRole.create(person=successor, role=Role.STAFF)
    far = await Person.create(telegram_id=3, name="Far", station=other)
    staff = await Person.create(telegram_id=4, name="Staff", station=station)
    await Outing.create(
        person=leaver,
        station=station,
        destination="Port",
        expected_return_at=now,
        status=OutingStatus.OUT,
    )
    await Outing.create(
        person=leaver,
        station=station,
        destination="Old",
        expected_return_at=now,
        status=OutingStatus.RETURNED,
    )
    await Outing.create(
        person=staff,
        station=station,
        destination="Market",
        expected_return_at=now,
        status=OutingStatus.PENDING,
    )
    await WeeklyPlan.create(
        person=leaver,
        station=station,
        week_start=date(2026, 1, 5),
        content="plan",
        status=ReportStatus.SUBMITTED,
    )
    await LeaveRequest.create(
        person=leaver, station=station, start_date=date(2026, 2, 1), end_date=date(2026, 2, 3)
    )

    code, _, err = await outpost(db, "deactivate", "1", "--handover-to", "3", cwd=tmp_path)
    assert code == 1
    assert "at another station" in err
    code, _, err = await outpost(db, "deactivate", "1", "--handover-to", "99", cwd=tmp_path)
    assert code == 1
    assert "no successor with Telegram id 99" in err
    assert (await Person.get(id=leaver.id)).active
    assert far.active

    code, out, err = await outpost(db, "deactivate", "1", "--handover-to", "2", cwd=tmp_path)
    assert code == 0, err
    assert "moved to the successor: 1 open outings" in out
    assert "Successor is now head of station LOS" in out
    assert "awaiting the new head's decision: 1 outing requests" in out
    leaver = await Person.get(id=leaver.id)
    assert not leaver.active
    assert leaver.deactivated_at is not None
    assert fk_id(leaver, "handed_over_to") == successor.id
    assert await Outing.filter(person=successor, status=OutingStatus.OUT).count() == 1
    assert await Outing.filter(person=leaver, status=OutingStatus.RETURNED).count() == 1
    assert await WeeklyPlan.filter(person=successor).count() == 1
    assert (await LeaveRequest.get()).status == RequestStatus.CANCELLED
    assert await PersonRole.filter(person=successor, role=Role.HEAD).exists()
    actions = set(await AuditLog.all().values_list("action", flat=True))
    assert {"person.deactivated", "person.handover_received", "role.granted"} <= actions

    code, _, err = await outpost(db, "deactivate", "2", "--handover-to", "1", cwd=tmp_path)
    assert code == 1
    assert "not an active, registered person" in err
    code, _, err = await outpost(
        db, "deactivate", "2", "--handover-to", "3", "--force", cwd=tmp_path
    )
    assert code == 0, err
