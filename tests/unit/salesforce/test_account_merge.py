"""What a merged organisation leaves on the surviving Account (pure rules)."""

from __future__ import annotations

from hdm.destinations.salesforce.account_merge import DESCRIPTION_MAX, fold_group, label, merge_values


def _row(key, name, **fields):
    return {"_source_key": key, "_object": "Account", "_lookups": {}, "hdm_Legacy_Id__c": key,
            "hdm_Merge_Key__c": name.casefold(), "Name": name, **fields}


def test_empty_fields_are_filled_and_differing_values_noted_under_the_merged_name():
    survivor = _row("organization:1", "Acme", Website="https://acme.test", Phone=None, Description="Key customer")
    merged = _row("organization:2", "ACME", Website="https://acme-emea.test", Phone="+1 555 0100",
                  BillingStreet="1 Main St", hdm_cf_industry__c="Retail", Description="EMEA branch")
    out = merge_values(survivor, merged)
    assert out.changes["Phone"] == "+1 555 0100" and out.changes["BillingStreet"] == "1 Main St"
    assert out.changes["hdm_cf_industry__c"] == "Retail"
    assert out.changes["Description"] == ("Key customer\n\nMerged from ACME (organization:2):\n"
                                          "Website: https://acme-emea.test\nDescription: EMEA branch")
    assert out.filled == ["Phone", "BillingStreet", "hdm_cf_industry__c"]
    assert out.noted == ["Website", "Description"]
    assert "industry (filled an empty field)" in out.summary()
    assert survivor["Phone"] is None  # the inputs are not changed


def test_equal_values_are_not_repeated_and_a_second_merge_writes_nothing_twice():
    survivor = _row("organization:1", "Acme", Website="https://ACME.test ", Description=None)
    merged = _row("organization:2", "ACME", Website="https://acme.test", Phone="1")
    out = merge_values(survivor, merged)
    assert out.noted == [] and out.changes == {"Phone": "1"}
    survivor2 = _row("organization:1", "Acme", Website="a", Description="x")
    merged2 = _row("organization:2", "ACME", Website="b")
    first = merge_values(survivor2, merged2)
    again = merge_values({**survivor2, **first.changes}, merged2)
    assert "Description" not in again.changes  # its block is there already


def test_a_description_over_the_limit_is_cut_and_reported():
    survivor = _row("organization:1", "Acme", Description="x" * (DESCRIPTION_MAX - 10), Website="a")
    out = merge_values(survivor, _row("organization:2", "ACME", Website="b" * 100))
    assert len(out.changes["Description"]) == DESCRIPTION_MAX and out.truncated


def test_a_group_folds_into_its_creators_row_in_order():
    creator = _row("organization:1", "Acme", Phone=None, Description=None)
    outcomes = fold_group(creator, [_row("organization:2", "Acme", Phone="2"), _row("organization:3", "Acme",
                                                                                  Phone="3")])
    assert creator["Phone"] == "2"
    assert outcomes["organization:2"].filled == ["Phone"] and outcomes["organization:3"].noted == ["Phone"]
    assert "Merged from Acme (organization:3):\nPhone: 3" in creator["Description"]


def test_labels_of_custom_fields_drop_the_prefix():
    assert label("hdm_cf_key_account__c") == "key_account" and label("Phone") == "Phone"
