"""Worklist matching as PS3.4 C.2.2.2 says."""

from mutualis.engines.mwl import match_value, matches, response, search

ITEM = {
    "PatientName": "DUPRÉ^Hélène", "PatientID": "261031209612334", "AccessionNumber": "MUT0000000001",
    "StudyInstanceUID": "2.25.1", "ScheduledProcedureStepSequence": [{
        "Modality": "MR", "ScheduledStationAETitle": "RDZ_MR1", "ScheduledProcedureStepStartDate": "20261124",
        "ScheduledProcedureStepStartTime": "093000", "ScheduledProcedureStepID": "S1"}],
}


def sps(**keys: str) -> dict[str, object]:
    return {"ScheduledProcedureStepSequence": [keys]}


def test_universal_single_and_wildcards() -> None:
    assert matches({"PatientName": ""}, ITEM)
    assert matches({"PatientName": "DUPRÉ^Hélène"}, ITEM)
    assert matches({"PatientName": "dupré^hélène"}, ITEM)  # PN: case-insensitive
    assert not matches({"AccessionNumber": "mut0000000001"}, ITEM)  # SH: exact
    assert matches({"PatientName": "DUP*"}, ITEM) and matches({"PatientName": "DUPR?^*"}, ITEM)
    assert not matches({"PatientName": "MARTIN*"}, ITEM)
    assert matches({"AccessionNumber": "MUT*1"}, ITEM)


def test_uid_lists() -> None:
    assert matches({"StudyInstanceUID": "2.25.9\\2.25.1"}, ITEM)
    assert not matches({"StudyInstanceUID": "2.25.9\\2.25.8"}, ITEM)
    assert not matches({"StudyInstanceUID": "2.25.10"}, ITEM)


def test_date_and_time_ranges() -> None:
    assert match_value("20261120-20261130", "20261124", "DA")
    assert match_value("20261124-", "20261124", "DA") and match_value("-20261124", "20261124", "DA")
    assert not match_value("20261125-", "20261124", "DA")
    assert match_value("0900-1000", "093000", "TM") and not match_value("0931-", "093000", "TM")
    assert not match_value("20261120-20261130", "", "DA")


def test_combined_date_time_range() -> None:
    # from the 23rd at 10:00 to the 24th at 10:00: the 24th at 09:30 is in, though 09:30 < 10:00
    q = sps(ScheduledProcedureStepStartDate="20261123-20261124", ScheduledProcedureStepStartTime="1000-1000")
    assert matches(q, ITEM)
    q2 = sps(ScheduledProcedureStepStartDate="20261124-20261125", ScheduledProcedureStepStartTime="1000-1000")
    assert not matches(q2, ITEM)


def test_sequence_matching_and_return_keys() -> None:
    assert matches(sps(Modality="MR", ScheduledStationAETitle="RDZ_MR1"), ITEM)
    assert not matches(sps(Modality="CT"), ITEM)
    assert matches({"ScheduledProcedureStepSequence": []}, ITEM)  # empty sequence: universal
    out = response({"PatientName": "", "PatientSex": "", **sps(Modality="", ScheduledProcedureStepLocation="")}, ITEM)
    assert out == {"PatientName": "DUPRÉ^Hélène", "PatientSex": "",
                   "ScheduledProcedureStepSequence": [{"Modality": "MR", "ScheduledProcedureStepLocation": ""}]}
    ct = {**ITEM, "ScheduledProcedureStepSequence": [{"Modality": "CT"}]}
    assert len(search(sps(Modality="MR"), [ITEM, ct])) == 1
