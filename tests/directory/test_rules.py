"""Pure rules of the directory: DNs, search keys, nested groups, access levels, AD flags; RFC 4533 wire values."""

from __future__ import annotations

import uuid

import pytest
from pyasn1.codec.ber import encoder

from veche.base.directory.address_book import query_key
from veche.base.directory.ldap import syncrepl
from veche.base.directory.mapping import map_group, map_person
from veche.config.directory import DirectorySource
from veche.domain.directory import (
    AccessLevel,
    Visibility,
    access_mask,
    ad_account_disabled,
    ad_guid,
    group_ancestors,
    is_admin_by_groups,
    normalize_dn,
    search_key,
    search_text,
)


def test_dn_and_search_keys() -> None:
    assert normalize_dn("CN=Sales , OU=Groups,DC=Corp") == "cn=sales,ou=groups,dc=corp"
    assert search_key("  Алёна   ОДИНОКАЯ ") == "алена одинокая"
    assert search_key("STRASSE Straße") == "strasse strasse"
    text = search_text("ivanov", "Иван Иванов", "Ivanov@Corp.example", "+7 (495) 123-45-67", "Разработка")
    assert "иван иванов" in text and "74951234567" in text and "ivanov@corp.example" in text
    assert query_key("+7 495 123") == "7495123"
    assert query_key("Пётр") == "петр"


def test_nested_groups_with_a_cycle() -> None:
    parents = {"backend": ["engineering"], "engineering": ["staff"], "staff": [], "a": ["b"], "b": ["a"]}
    ancestors = group_ancestors(parents)
    assert ancestors["backend"] == {"backend", "engineering", "staff"}
    assert ancestors["a"] == ancestors["b"] == {"a", "b"}


def test_roles_and_access_levels() -> None:
    assert is_admin_by_groups(["cn=it,dc=x"], ["IT"], ["it"])
    assert is_admin_by_groups(["cn=it,dc=x"], ["IT"], ["CN=IT, DC=X"])
    assert not is_admin_by_groups(["cn=it,dc=x"], ["IT"], ["admins"])
    mask = access_mask([AccessLevel.OWN_GROUPS, AccessLevel.OWN_DEPARTMENT])
    seen = Visibility.of(5, mask, is_admin=False, department="Разработка", group_ids=[1, 2])
    assert not seen.everyone and seen.department == "разработка" and seen.group_ids == {1, 2}
    assert Visibility.of(5, mask, is_admin=True, department="", group_ids=[]).everyone
    assert Visibility.of(5, 4, is_admin=False, department="", group_ids=[]).everyone


def test_active_directory_flags_and_guids() -> None:
    assert ad_account_disabled(514) and not ad_account_disabled(512) and not ad_account_disabled(None)
    guid = uuid.uuid4()
    assert ad_guid(guid.bytes_le) == str(guid)


def test_mapping_of_entries() -> None:
    source = DirectorySource(name="corp", urls=["ldap://h"], user_base_dns=["dc=x"])
    person = map_person(
        source,
        "uid=Ivanov, ou=People,dc=x",
        {"UID": [b"Ivanov"], "cn": ["Иван Иванов".encode()], "entryUUID": [b"ABC-1"], "pwdAccountLockedTime": [b"0"]},
    )
    assert person is not None
    assert (person.login, person.display_name, person.external_id, person.dn) == (
        "ivanov",
        "Иван Иванов",
        "abc-1",
        "uid=ivanov,ou=people,dc=x",
    )
    assert person.disabled  # a locked OpenLDAP account
    assert map_person(source, "uid=x,dc=x", {"cn": [b"No login"]}) is None
    ad = DirectorySource(name="ad", kind="ad", urls=["ldaps://dc1"], user_base_dns=["dc=corp"])
    guid = uuid.uuid4()
    user = map_person(
        ad,
        "CN=Anna,DC=corp",
        {"sAMAccountName": [b"anna"], "objectGUID": [guid.bytes_le], "userAccountControl": [b"514"]},
    )
    assert user is not None and user.external_id == str(guid) and user.disabled
    group = map_group(source, "cn=G,dc=x", {"cn": [b"G"], "entryUUID": [b"g1"], "member;range=0-1": [b"UID=A, DC=X"]})
    assert group is not None and group.members == ("uid=a,dc=x",)


def test_config_errors_name_the_field() -> None:
    with pytest.raises(ValueError, match="not an ldap://host"):
        DirectorySource(name="corp", urls=["http://h"], user_base_dns=["dc=x"])
    with pytest.raises(ValueError, match="group_filter is not a valid LDAP filter"):
        DirectorySource(name="corp", urls=["ldap://h"], user_base_dns=["dc=x"], group_filter="cn=x")
    with pytest.raises(ValueError, match="start_tls and ldaps"):
        DirectorySource(name="corp", urls=["ldaps://h"], user_base_dns=["dc=x"], start_tls=True)


def test_syncrepl_values_round_trip() -> None:
    request = syncrepl.SyncRequest(syncrepl.SyncMode.REFRESH_AND_PERSIST, b"rid=000,csn=1")
    decoded, _ = syncrepl.decoder.decode(request.encode(), asn1Spec=syncrepl._SyncRequestValue())
    assert int(decoded["mode"]) == 3 and bytes(decoded["cookie"]) == b"rid=000,csn=1"

    entry = uuid.uuid4()
    state = syncrepl._SyncStateValue()
    state["state"] = 3
    state["entryUUID"] = entry.bytes
    state["cookie"] = b"c1"
    assert syncrepl.SyncState.decode(encoder.encode(state)) == syncrepl.SyncState(
        syncrepl.SyncStateKind.DELETE, str(entry), b"c1"
    )

    info = syncrepl._SyncInfoValue()
    id_set = info.componentType.getTypeByPosition(3).clone()
    id_set["cookie"] = b"c2"
    id_set["refreshDeletes"] = True
    id_set["syncUUIDs"].extend([entry.bytes])
    info["syncIdSet"] = id_set
    decoded_info = syncrepl.SyncInfo.decode(encoder.encode(info))
    assert (decoded_info.kind, decoded_info.refresh_deletes, decoded_info.uuids) == ("syncIdSet", True, (str(entry),))
    assert syncrepl.SyncDone.decode(b"") == syncrepl.SyncDone(None, False)
