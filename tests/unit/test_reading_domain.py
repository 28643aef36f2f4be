"""Reading domain: due times, eligibility, claims, escalation, double reading, reports."""

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from mutualis.adapters.territory_file import read_territory_file
from mutualis.domain.errors import Conflict, PermissionDenied, ValidationError
from mutualis.domain.orders import Priority
from mutualis.domain.reading import (
    ReadingTask,
    TaskStatus,
    claim,
    complete,
    escalate,
    lapse,
    may_read,
    needs_escalation,
    new_task,
    release,
    visible_worklist,
    worklist_key,
)
from mutualis.domain.reading_settings import ReadingSettings, TaskKind, settings_problems
from mutualis.domain.reports import Dose, Report, ReportStatus, addendum, dose_problems, edit, sign
from mutualis.domain.screening import (
    Acr,
    Density,
    MammogramReading,
    ScreeningCase,
    ScreeningState,
    reader_indicators,
    record_l1,
    record_l2,
    record_workup,
    second_reading_task,
)
from mutualis.domain.territory import Commune, Modality, Practitioner, Territory
from tests.conftest import ROOT

AT = datetime(2026, 11, 24, 10, 0)


@pytest.fixture(scope="module")
def aveyron(communes: dict[str, Commune]) -> Territory:
    return read_territory_file(ROOT / "territories" / "aveyron-pimm.toml", communes)


def _who(t: Territory, last_name: str) -> Practitioner:
    return next(p for p in t.practitioners if p.last_name == last_name)


def _task(t: Territory, exam: str, site: str, priority: Priority = Priority.OUTPATIENT) -> ReadingTask:
    return new_task(1, "ACC1", next(x for x in t.exams if x.code == exam), site, priority, AT, id=1)


def _everyone(t: Territory) -> frozenset[str]:
    return frozenset(p.rpps for p in t.practitioners)


# ---------------------------------------------------------------- due times and worklist


def test_due_times_follow_the_priority_and_the_reading(aveyron: Territory) -> None:
    assert _task(aveyron, "tdm-crane", "decazeville", Priority.URGENT).due_at == AT + timedelta(hours=1)
    assert _task(aveyron, "tdm-crane", "decazeville", Priority.INPATIENT).due_at == AT + timedelta(hours=24)
    assert _task(aveyron, "tdm-crane", "decazeville").due_at == AT + timedelta(hours=72)
    first = _task(aveyron, "mammo-depistage", "decazeville", Priority.SCREENING)
    assert first.kind is TaskKind.SCREENING_L1 and first.due_at == AT + timedelta(hours=72)
    assert ReadingSettings().due_after(Priority.SCREENING, TaskKind.SCREENING_L2) == timedelta(days=15)
    faster = ReadingSettings(urgent_due=timedelta(minutes=30))
    task = new_task(1, "A", next(x for x in aveyron.exams if x.code == "tdm-crane"), "decazeville", Priority.URGENT,
                    AT, faster)
    assert task.due_at == AT + timedelta(minutes=30)


def test_settings_out_of_range_are_named() -> None:
    bad = ReadingSettings(claim_lapse=timedelta(0), escalation_share=1.5, reading_minutes={"CT": -1.0})
    assert {p.location for p in settings_problems(bad)} == {"claim_lapse", "escalation_share", "reading_minutes.CT"}
    assert settings_problems(ReadingSettings()) == []


def test_urgent_first_then_due_time_and_escalated_on_top(aveyron: Territory) -> None:
    routine = replace(_task(aveyron, "tdm-crane", "decazeville"), id=1, ready_at=AT - timedelta(hours=5))
    urgent = replace(_task(aveyron, "tdm-crane", "decazeville", Priority.URGENT), id=2)
    assert sorted([routine, urgent], key=worklist_key) == [urgent, routine]
    flagged = replace(routine, escalated=True)
    assert sorted([urgent, flagged], key=worklist_key) == [flagged, urgent]


# ---------------------------------------------------------------- eligibility


def test_remote_reading_under_the_convention_is_allowed(aveyron: Territory) -> None:
    marty = _who(aveyron, "Marty")  # Rodez, privileged at Decazeville, reads CT
    task = _task(aveyron, "tdm-crane", "decazeville")
    assert may_read(marty, task, aveyron, _everyone(aveyron), on_site="rodez") is None
    assert may_read(marty, task, aveyron, _everyone(aveyron), on_site=None) is None


def test_no_privilege_on_the_site_is_refused(aveyron: Territory) -> None:
    fabre = _who(aveyron, "Fabre")  # Rodez only
    reason = may_read(fabre, _task(aveyron, "tdm-crane", "decazeville"), aveyron, _everyone(aveyron), "rodez")
    assert reason is not None and "privilege" in reason
    assert may_read(fabre, _task(aveyron, "irm-genou", "rodez"), aveyron, _everyone(aveyron), "rodez") is None


def test_own_establishment_needs_no_privilege(aveyron: Territory) -> None:
    lacombe = _who(aveyron, "Lacombe")  # Decazeville's own radiologist
    bare = replace(aveyron, conventions=tuple(replace(c, privileges=()) for c in aveyron.conventions))
    task = _task(bare, "tdm-crane", "decazeville")
    assert may_read(lacombe, task, bare, _everyone(bare), "decazeville") is None


def test_privilege_or_convention_out_of_force_is_refused(aveyron: Territory) -> None:
    marty = _who(aveyron, "Marty")
    task = _task(aveyron, "tdm-crane", "decazeville")
    reason = may_read(marty, task, aveyron, _everyone(aveyron), "decazeville", on=date(2030, 1, 1))
    assert reason is not None and "privilege" in reason
    lapsed = replace(aveyron, conventions=tuple(
        replace(c, privileges=tuple(replace(p, end=date(2025, 1, 1)) for p in c.privileges))
        for c in aveyron.conventions))
    assert may_read(marty, task, lapsed, _everyone(lapsed), "decazeville") is not None


def test_ultrasound_is_not_read_remotely(aveyron: Territory) -> None:
    bousquet = _who(aveyron, "Bousquet")  # US qualified, privileged at Decazeville
    task = _task(aveyron, "echo-abdominale", "decazeville")
    reason = may_read(bousquet, task, aveyron, _everyone(aveyron), on_site="rodez")
    assert reason is not None and "on site" in reason
    assert may_read(bousquet, task, aveyron, _everyone(aveyron), on_site="decazeville") is None


def test_modality_without_remote_reading_is_refused_off_site(aveyron: Territory) -> None:
    marty = _who(aveyron, "Marty")
    no_ct = replace(aveyron, conventions=tuple(replace(c, remote_reading=(Modality.MR,)) for c in aveyron.conventions))
    task = _task(no_ct, "tdm-crane", "decazeville")
    reason = may_read(marty, task, no_ct, _everyone(no_ct), on_site="rodez")
    assert reason is not None and "remote reading of CT" in reason
    assert may_read(marty, task, no_ct, _everyone(no_ct), on_site="decazeville") is None


def test_missing_qualification_is_refused(aveyron: Territory) -> None:
    vidal = _who(aveyron, "Vidal")  # MR and CT, no US, no mammography
    reason = may_read(vidal, _task(aveyron, "echo-abdominale", "rodez"), aveyron, _everyone(aveyron), "rodez")
    assert reason is not None and "US" in reason
    screening = _task(aveyron, "mammo-depistage", "decazeville", Priority.SCREENING)
    assert "mammo-L1" in (may_read(vidal, screening, aveyron, _everyone(aveyron), "decazeville") or "")
    bousquet = _who(aveyron, "Bousquet")  # mammo-L1 only
    assert may_read(bousquet, screening, aveyron, _everyone(aveyron), "decazeville") is None
    second = replace(screening, kind=TaskKind.SCREENING_L2)
    assert "mammo-L2" in (may_read(bousquet, second, aveyron, _everyone(aveyron), "decazeville") or "")


def test_off_duty_and_non_radiologists_are_refused(aveyron: Territory) -> None:
    marty = _who(aveyron, "Marty")
    task = _task(aveyron, "tdm-crane", "decazeville")
    assert may_read(marty, task, aveyron, frozenset(), "decazeville") == "not on duty"
    radiographer = _who(aveyron, "Nayrac")
    reason = may_read(radiographer, task, aveyron, _everyone(aveyron), "decazeville")
    assert reason is not None and "radiologist" in reason


def test_the_first_reader_may_not_do_the_second_reading(aveyron: Territory) -> None:
    marty = _who(aveyron, "Marty")  # mammo-L1 and mammo-L2
    second = replace(_task(aveyron, "mammo-depistage", "decazeville", Priority.SCREENING),
                     kind=TaskKind.SCREENING_L2, excluded=(marty.rpps,))
    reason = may_read(marty, second, aveyron, _everyone(aveyron), "decazeville")
    assert reason is not None and "different" in reason
    assert may_read(_who(aveyron, "Cabrol"), second, aveyron, _everyone(aveyron), "decazeville") is None


def test_the_worklist_shows_only_what_the_reader_may_read(aveyron: Territory) -> None:
    fabre = _who(aveyron, "Fabre")
    tasks = [replace(_task(aveyron, "tdm-crane", "decazeville"), id=1),
             replace(_task(aveyron, "irm-genou", "rodez"), id=2),
             replace(_task(aveyron, "tdm-thorax", "rodez", Priority.URGENT), id=3)]
    assert [t.id for t in visible_worklist(tasks, fabre, aveyron, _everyone(aveyron), "rodez")] == [3, 2]


# ---------------------------------------------------------------- claims and escalation


def test_a_claim_is_exclusive_until_it_lapses(aveyron: Territory) -> None:
    task = _task(aveyron, "tdm-crane", "decazeville")
    held = claim(task, "A", AT)
    assert held.status is TaskStatus.CLAIMED and held.claimed_by == "A"
    with pytest.raises(Conflict):
        claim(held, "B", AT + timedelta(minutes=10))
    assert lapse(held, AT + timedelta(minutes=10)) == held
    assert claim(held, "B", AT + timedelta(minutes=30)).claimed_by == "B"
    assert lapse(held, AT + timedelta(minutes=30)).status is TaskStatus.WAITING
    with pytest.raises(PermissionDenied):
        complete(held, "B")
    assert complete(held, "A").status is TaskStatus.DONE
    assert release(held, "A").claimed_by is None
    with pytest.raises(Conflict):
        claim(complete(held, "A"), "A", AT)


def test_waiting_exams_near_their_due_time_escalate(aveyron: Territory) -> None:
    task = _task(aveyron, "tdm-crane", "decazeville", Priority.URGENT)  # due at 11:00; a quarter: 15 min
    assert not needs_escalation(task, AT + timedelta(minutes=44))
    assert needs_escalation(task, AT + timedelta(minutes=45))
    assert escalate(task, AT + timedelta(minutes=50)).escalated
    assert not needs_escalation(claim(task, "A", AT), AT + timedelta(minutes=50))


# ---------------------------------------------------------------- double reading


def _reading(rpps: str, right: Acr = Acr.ACR1, left: Acr = Acr.ACR2, insufficient: bool = False,
             at: datetime = AT) -> MammogramReading:
    return MammogramReading(rpps, at, right, left, Density.B, insufficient)


def test_l1_negative_creates_an_l2_task_for_another_reader(aveyron: Territory) -> None:
    marty = _who(aveyron, "Marty")
    case = record_l1(ScreeningCase("ACC1"), _reading(marty.rpps), marty)
    assert case.state is ScreeningState.AWAITING_L2
    first = _task(aveyron, "mammo-depistage", "decazeville", Priority.SCREENING)
    second = second_reading_task(case, first, AT + timedelta(hours=1))
    assert second.kind is TaskKind.SCREENING_L2 and second.excluded == (marty.rpps,)
    assert second.due_at == AT + timedelta(hours=1, days=15) and second.status is TaskStatus.WAITING


def test_same_reader_is_refused_for_l2(aveyron: Territory) -> None:
    marty = _who(aveyron, "Marty")
    case = record_l1(ScreeningCase("ACC1"), _reading(marty.rpps), marty)
    with pytest.raises(ValidationError) as refused:
        record_l2(case, _reading(marty.rpps, Acr.ACR4), marty)
    assert refused.value.problems[0].location == "reader"


def test_l1_positive_goes_to_immediate_workup_and_skips_l2(aveyron: Territory) -> None:
    marty, cabrol = _who(aveyron, "Marty"), _who(aveyron, "Cabrol")
    case = record_l1(ScreeningCase("ACC1"), _reading(marty.rpps, Acr.ACR4), marty)
    assert case.state is ScreeningState.WORKUP
    first = _task(aveyron, "mammo-depistage", "decazeville", Priority.SCREENING)
    with pytest.raises(ValidationError):
        second_reading_task(case, first, AT)
    with pytest.raises(ValidationError):
        record_l2(case, _reading(cabrol.rpps), cabrol)
    with pytest.raises(PermissionDenied):
        record_workup(case, cabrol.rpps, negative=True, at=AT)
    assert record_workup(case, marty.rpps, negative=False, at=AT).state is ScreeningState.POSITIVE
    assert record_workup(case, marty.rpps, negative=True, at=AT).state is ScreeningState.AWAITING_L2


def test_l2_positive_where_l1_was_negative_recalls(aveyron: Territory) -> None:
    marty, cabrol = _who(aveyron, "Marty"), _who(aveyron, "Cabrol")
    case = record_l1(ScreeningCase("ACC1"), _reading(marty.rpps), marty)
    recalled = record_l2(case, _reading(cabrol.rpps, Acr.ACR1, Acr.ACR3), cabrol)
    assert recalled.state is ScreeningState.RECALL and recalled.l2_only_positive
    assert record_l2(case, _reading(cabrol.rpps), cabrol).state is ScreeningState.CLOSED
    assert record_l2(case, _reading(cabrol.rpps, insufficient=True), cabrol).state is ScreeningState.NEW_IMAGES


def test_technically_insufficient_images_are_recalled_whatever_the_classes(aveyron: Territory) -> None:
    marty = _who(aveyron, "Marty")
    case = record_l1(ScreeningCase("ACC1"), _reading(marty.rpps, Acr.ACR5, insufficient=True), marty)
    assert case.state is ScreeningState.NEW_IMAGES and case.l1 is not None and not case.l1.positive


def test_acr_classes_positive_and_negative() -> None:
    assert not _reading("x", Acr.ACR1, Acr.ACR2).positive
    assert _reading("x", Acr.ACR0, Acr.ACR1).positive  # incomplete: more imaging needed
    assert _reading("x", Acr.ACR2, Acr.ACR3).positive


def test_readings_need_the_screening_qualification(aveyron: Territory) -> None:
    vidal, bousquet, marty = _who(aveyron, "Vidal"), _who(aveyron, "Bousquet"), _who(aveyron, "Marty")
    with pytest.raises(PermissionDenied):
        record_l1(ScreeningCase("ACC1"), _reading(vidal.rpps), vidal)
    case = record_l1(ScreeningCase("ACC1"), _reading(marty.rpps), marty)
    with pytest.raises(PermissionDenied):
        record_l2(case, _reading(bousquet.rpps), bousquet)  # mammo-L1 only
    with pytest.raises(ValidationError):
        record_l1(ScreeningCase("ACC2"), _reading(marty.rpps), bousquet)  # recorded under another name


def test_indicators_per_reader(aveyron: Territory) -> None:
    marty, cabrol = _who(aveyron, "Marty"), _who(aveyron, "Cabrol")
    cases = []
    for i in range(10):
        case = record_l1(ScreeningCase(f"A{i}"), _reading(marty.rpps, Acr.ACR4 if i == 0 else Acr.ACR1), marty)
        if case.state is ScreeningState.AWAITING_L2:
            case = record_l2(case, _reading(cabrol.rpps, Acr.ACR4 if i in (1, 2) else Acr.ACR1), cabrol)
        cases.append(case)
    old = record_l1(ScreeningCase("B"), _reading(marty.rpps, at=datetime(2025, 6, 1)), marty)
    found = reader_indicators([*cases, old], 2026, ReadingSettings(l1_yearly_minimum=10, l2_yearly_minimum=2000))
    m, c = found[marty.rpps], found[cabrol.rpps]
    assert (m.l1_readings, m.l1_positives, m.missed_at_l1, m.l1_volume_met) == (10, 1, 2, True)
    assert m.l1_positive_rate == pytest.approx(0.1)
    assert (c.l2_readings, c.l2_only_positives, c.l2_volume_met) == (9, 2, False)
    assert c.recall_rate == pytest.approx(2 / 9)
    assert reader_indicators([old], 2025)[marty.rpps].l1_volume_met is False  # 1 < 500


# ---------------------------------------------------------------- reports


def _report(modality: Modality = Modality.CT) -> Report:
    return Report("ACC1", "tdm-crane", modality, "A", indication="Chute", technique="Sans injection",
                  findings="Pas d'hémorragie", conclusion="Examen normal")


def test_dose_fields_are_required_to_sign_a_ct() -> None:
    with pytest.raises(ValidationError) as refused:
        sign(_report(), "A", AT)
    assert {p.location for p in refused.value.problems} == {"dose.ctdi_vol_mgy", "dose.dlp_mgy_cm"}
    signed = sign(edit(_report(), dose=Dose(ctdi_vol_mgy=45.0, dlp_mgy_cm=800.0)), "A", AT)
    assert signed.status is ReportStatus.SIGNED and signed.signed_by == "A" and signed.signed_at == AT


def test_dose_values_are_checked_by_modality() -> None:
    assert [p.location for p in dose_problems(Modality.DX, Dose(), signing=True)] == ["dose.dap_mgy_cm2"]
    assert dose_problems(Modality.MG, Dose(), signing=True) == []
    assert dose_problems(Modality.MR, Dose(), signing=True) == []
    wrong = dose_problems(Modality.CT, Dose(ctdi_vol_mgy=-1.0, dlp_mgy_cm=float("nan"), dap_mgy_cm2=3.0))
    assert [p.location for p in wrong] == ["dose.ctdi_vol_mgy", "dose.dlp_mgy_cm", "dose.dap_mgy_cm2"]
    with pytest.raises(ValidationError):
        edit(_report(Modality.MR), dose=Dose(mgd_mgy=1.2))


def test_signing_needs_the_author_findings_and_conclusion() -> None:
    with pytest.raises(PermissionDenied):
        sign(_report(Modality.MR), "B", AT)
    with pytest.raises(ValidationError) as refused:
        sign(edit(_report(Modality.MR), conclusion="  "), "A", AT)
    assert [p.location for p in refused.value.problems] == ["conclusion"]


def test_a_signed_report_is_never_edited_and_an_addendum_keeps_the_original() -> None:
    signed = sign(_report(Modality.MR), "A", AT)
    with pytest.raises(ValidationError) as refused:
        edit(signed, conclusion="Autre conclusion")
    assert refused.value.problems[0].location == "status"
    amended = addendum(signed, "Comparaison avec l'examen antérieur : stable.", "B", AT + timedelta(hours=2))
    assert amended.conclusion == signed.conclusion == "Examen normal"
    assert amended.findings == signed.findings and amended.signed_at == AT and amended.status is ReportStatus.SIGNED
    assert [(a.text, a.author) for a in amended.addenda] == [("Comparaison avec l'examen antérieur : stable.", "B")]
    twice = addendum(amended, "Second ajout", "A", AT + timedelta(hours=3))
    assert len(twice.addenda) == 2 and twice.addenda[0] == amended.addenda[0]
    with pytest.raises(ValidationError):
        addendum(_report(Modality.MR), "Sur un brouillon", "A", AT)
    with pytest.raises(ValidationError):
        addendum(signed, "Avant la signature", "A", AT - timedelta(minutes=1))
