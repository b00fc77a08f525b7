"""Object metadata of the emulated org: recorded describes plus objects built from the Object Reference.

Account, Case, Contact, Lead and Group come from recorded describe responses (data/*.describe.json).
The other objects the migration pairs use are built here from the Object Reference facts collected in
shared/reference/notes/salesforce.md §3, with the same describe keys as the recorded fields.
Custom fields and objects created through the Tooling API are added at runtime.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

RECORDED_OBJECTS = ("Account", "Case", "Contact", "Lead", "Group")
COMPOUND_TYPES = frozenset({"address", "location"})
STRING_TYPES = frozenset(
    {"string", "textarea", "picklist", "multipicklist", "email", "phone", "url", "id", "reference",
     "combobox", "encryptedstring"}
)
AUDIT_FIELDS = ("CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById")
SOAP_TYPES = {
    "id": "tns:ID", "reference": "tns:ID", "boolean": "xsd:boolean", "int": "xsd:int", "double": "xsd:double",
    "currency": "xsd:double", "percent": "xsd:double", "date": "xsd:date", "datetime": "xsd:dateTime",
    "base64": "xsd:base64Binary",
}
# Bytes, not characters, bound these fields (notes §3 CaseComment).
BYTE_LENGTH_FIELDS = frozenset({("CaseComment", "CommentBody")})
# Objects whose rows only the org's administrator (the admin seed endpoint) may create.
SEED_ONLY_OBJECTS = frozenset({"User"})
# Objects that refuse custom fields through the Tooling API.
NO_CUSTOM_FIELDS = frozenset({"CaseComment", "ContentDocumentLink", "QueueSobject", "GroupMember", "ContentDocument",
                              "CaseContactRole"})
# Field combinations a record must not share with another (Object Reference: CaseContactRole.Role "Must be unique —
# there can't be multiple records in which the CaseId, ContactId, and Role values are identical").
# salesforce-next.md §3 (TopicAssignment: a duplicate (TopicId, EntityId) pair is refused; code [unverified])
COMPOSITE_UNIQUE: dict[str, tuple[str, ...]] = {"CaseContactRole": ("CasesId", "ContactId", "Role"),
                                                "TopicAssignment": ("TopicId", "EntityId")}


@dataclass
class FieldMeta:
    name: str
    type: str
    length: int
    nillable: bool
    createable: bool
    updateable: bool
    defaulted: bool
    default_value: Any
    picklist: frozenset[str]
    restricted: bool
    reference_to: tuple[str, ...]
    relationship_name: str | None
    external_id: bool
    unique: bool
    id_lookup: bool
    custom: bool
    label: str
    length_in_bytes: bool = False
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def stored(self) -> bool:
        return self.type not in COMPOUND_TYPES

    @property
    def required_on_create(self) -> bool:
        return (not self.nillable and self.createable and not self.defaulted and self.type != "boolean")


@dataclass
class ObjectMeta:
    name: str
    key_prefix: str
    describe: dict[str, Any]
    fields: dict[str, FieldMeta] = field(default_factory=dict)
    by_lower: dict[str, FieldMeta] = field(default_factory=dict)
    by_relationship: dict[str, FieldMeta] = field(default_factory=dict)

    def add(self, meta: FieldMeta) -> None:
        self.fields[meta.name] = meta
        self.by_lower[meta.name.lower()] = meta
        if meta.relationship_name:
            self.by_relationship[meta.relationship_name.lower()] = meta

    def field(self, name: str) -> FieldMeta | None:
        return self.by_lower.get(name.lower())

    def stored_fields(self) -> list[FieldMeta]:
        return [f for f in self.fields.values() if f.stored]

    @property
    def createable(self) -> bool:
        return bool(self.describe.get("createable"))

    @property
    def updateable(self) -> bool:
        return bool(self.describe.get("updateable"))

    @property
    def deletable(self) -> bool:
        return bool(self.describe.get("deletable"))


def _field_from_describe(obj: str, raw: dict[str, Any]) -> FieldMeta:
    default_value = raw.get("defaultValue")
    for value in raw.get("picklistValues") or []:
        if value.get("defaultValue"):
            default_value = value["value"]
    return FieldMeta(
        name=raw["name"], type=raw["type"], length=int(raw.get("length") or 0), nillable=bool(raw["nillable"]),
        createable=bool(raw["createable"]), updateable=bool(raw["updateable"]),
        defaulted=bool(raw.get("defaultedOnCreate")), default_value=default_value,
        picklist=frozenset(v["value"] for v in raw.get("picklistValues") or [] if v.get("active", True)),
        restricted=bool(raw.get("restrictedPicklist")), reference_to=tuple(raw.get("referenceTo") or ()),
        relationship_name=raw.get("relationshipName"), external_id=bool(raw.get("externalId")),
        unique=bool(raw.get("unique")), id_lookup=bool(raw.get("idLookup")), custom=bool(raw.get("custom")),
        label=raw.get("label") or raw["name"], length_in_bytes=(obj, raw["name"]) in BYTE_LENGTH_FIELDS, raw=raw,
    )


def _load_recorded(name: str) -> dict[str, Any]:
    text = resources.files("hdm_infra.sfemu").joinpath(f"data/{name}.describe.json").read_text("utf-8")
    return json.loads(text)


_FIELD_TEMPLATE: dict[str, Any] | None = None
_OBJECT_TEMPLATE: dict[str, Any] | None = None


def _templates() -> tuple[dict[str, Any], dict[str, Any]]:
    global _FIELD_TEMPLATE, _OBJECT_TEMPLATE
    if _FIELD_TEMPLATE is None:
        case = _load_recorded("Case")
        subject = next(f for f in case["fields"] if f["name"] == "Subject")
        _FIELD_TEMPLATE = copy.deepcopy(subject)
        _OBJECT_TEMPLATE = {k: copy.deepcopy(v) for k, v in case.items() if k not in ("fields", "childRelationships")}
    assert _OBJECT_TEMPLATE is not None
    return _FIELD_TEMPLATE, _OBJECT_TEMPLATE


def field_describe(
    name: str, ftype: str, length: int = 0, *, label: str | None = None, nillable: bool = True,
    createable: bool = True, updateable: bool = True, defaulted: bool = False, default: Any = None,
    picklist: tuple[str, ...] = (), picklist_default: str | None = None, restricted: bool = False,
    reference_to: tuple[str, ...] = (), relationship_name: str | None = None, external_id: bool = False,
    unique: bool = False, id_lookup: bool = False, custom: bool = False, html: bool = False,
    cascade_delete: bool = False, name_field: bool = False, auto_number: bool = False,
) -> dict[str, Any]:
    """One describe field entry with the same keys a real describe returns."""
    template, _ = _templates()
    raw = copy.deepcopy(template)
    text_like = ftype in STRING_TYPES
    raw.update(
        name=name, label=label or name, type=ftype, length=length if text_like and ftype != "reference" else 0,
        byteLength=(length * 3 if text_like else 0), nillable=nillable, createable=createable, updateable=updateable,
        defaultedOnCreate=defaulted, defaultValue=default, restrictedPicklist=restricted,
        picklistValues=[
            {"active": True, "defaultValue": value == picklist_default, "label": value, "validFor": None,
             "value": value}
            for value in picklist
        ],
        referenceTo=list(reference_to), relationshipName=relationship_name, externalId=external_id, unique=unique,
        idLookup=id_lookup or ftype == "id", custom=custom, htmlFormatted=html, cascadeDelete=cascade_delete,
        nameField=name_field, autoNumber=auto_number, soapType=SOAP_TYPES.get(ftype, "xsd:string"),
        polymorphicForeignKey=len(reference_to) > 1, sortable=ftype not in ("textarea", "base64"),
        filterable=ftype not in ("textarea", "base64"), groupable=ftype not in ("textarea", "base64", "double"),
        caseSensitive=False, calculated=False, precision=18 if ftype in ("double", "currency") else 0,
        scale=2 if ftype in ("double", "currency") else 0, digits=9 if ftype == "int" else 0,
    )
    if ftype == "reference":
        raw["length"] = 18
        raw["byteLength"] = 18
    if ftype == "id":
        raw["length"] = 18
        raw["byteLength"] = 18
    return raw


def _system_fields(label: str, *, owner: bool = True, modified: bool = True) -> list[dict[str, Any]]:
    fields = [
        field_describe("Id", "id", 18, label=f"{label} ID", nillable=False, createable=False, updateable=False,
                       defaulted=True),
        field_describe("IsDeleted", "boolean", label="Deleted", nillable=False, createable=False, updateable=False,
                       defaulted=True, default=False),
    ]
    if owner:
        fields.append(field_describe("OwnerId", "reference", 18, label="Owner ID", nillable=False, defaulted=True,
                                     reference_to=("User",), relationship_name="Owner"))
    fields += [
        field_describe("CreatedDate", "datetime", label="Created Date", nillable=False, createable=False,
                       updateable=False, defaulted=True),
        field_describe("CreatedById", "reference", 18, label="Created By ID", nillable=False, createable=False,
                       updateable=False, defaulted=True, reference_to=("User",), relationship_name="CreatedBy"),
    ]
    if modified:
        fields += [
            field_describe("LastModifiedDate", "datetime", label="Last Modified Date", nillable=False,
                           createable=False, updateable=False, defaulted=True),
            field_describe("LastModifiedById", "reference", 18, label="Last Modified By ID", nillable=False,
                           createable=False, updateable=False, defaulted=True, reference_to=("User",),
                           relationship_name="LastModifiedBy"),
        ]
    fields.append(field_describe("SystemModstamp", "datetime", label="System Modstamp", nillable=False,
                                 createable=False, updateable=False, defaulted=True))
    return fields


LINKABLE = ("Account", "Case", "Contact", "Lead", "User", "Knowledge__kav", "Group")
F = field_describe


def _built_objects() -> dict[str, tuple[str, str, dict[str, Any], list[dict[str, Any]]]]:
    """name -> (key prefix, plural label, object overrides, fields)."""
    ro = {"createable": False, "updateable": False}
    return {
        "CaseComment": ("00a", "Case Comments", {"undeletable": False}, _system_fields("Case Comment", owner=False) + [
            F("ParentId", "reference", 18, label="Parent Case ID", nillable=False, updateable=False,
              reference_to=("Case",), relationship_name="Parent"),
            F("IsPublished", "boolean", label="Published", nillable=False, defaulted=True, default=False),
            F("CommentBody", "textarea", 4000, label="Body", updateable=False),
        ]),
        "EmailMessage": ("02s", "Email Messages", {}, _system_fields("Email Message", owner=False) + [
            F("ParentId", "reference", 18, label="Case ID", updateable=False, reference_to=("Case",),
              relationship_name="Parent"),
            F("RelatedToId", "reference", 18, label="Related To ID", reference_to=("Account", "Case", "Contact"),
              relationship_name="RelatedTo"),
            F("FromAddress", "email", 255, label="From Address"),
            F("FromName", "string", 1000, label="From Name"),
            F("ToAddress", "string", 4000, label="To Address"),
            F("CcAddress", "string", 4000, label="CC Address"),
            F("BccAddress", "string", 4000, label="BCC Address"),
            F("Subject", "string", 3000, label="Subject"),
            F("TextBody", "textarea", 32000, label="Text Body"),
            F("HtmlBody", "textarea", 32000, label="HTML Body", html=True),
            F("Headers", "textarea", 32000, label="Headers"),
            F("Incoming", "boolean", label="Is Incoming", nillable=False, defaulted=True, default=False),
            F("MessageDate", "datetime", label="Message Date"),
            F("Status", "picklist", 40, label="Status", nillable=False, picklist=("0", "1", "2", "3", "4", "5"),
              restricted=True),
            F("IsExternallyVisible", "boolean", label="Externally Visible", nillable=False, defaulted=True,
              default=False),
            F("IsPrivateDraft", "boolean", label="Private Draft", nillable=False, defaulted=True, default=False),
            F("HasAttachment", "boolean", label="Has Attachment", nillable=False, defaulted=True, default=False,
              createable=False, updateable=False),
            F("MessageIdentifier", "string", 255, label="Message ID"),
            F("ThreadIdentifier", "string", 255, label="Thread ID"),
        ]),
        # Object Reference (CaseContactRole, v59+ field reference): CasesId Create-only, ContactId required,
        # Role a picklist (Setup's "Contact Roles on Cases"; the values below are the defaults of a new org)
        "CaseContactRole": ("03j", "Case Contact Roles", {}, _system_fields("Contact Role", owner=False) + [
            F("CasesId", "reference", 18, label="Case ID", nillable=False, updateable=False, reference_to=("Case",),
              relationship_name="Cases"),
            F("ContactId", "reference", 18, label="Contact ID", nillable=False, reference_to=("Contact",),
              relationship_name="Contact"),
            F("Role", "picklist", 255, label="Role",
              picklist=("Technical Contact", "Business Contact", "Decision Maker", "Other")),
        ]),
        "ContentDocument": ("069", "Content Documents", {"createable": False}, _system_fields("Content Document") + [
            F("Title", "string", 255, label="Title", nillable=False, createable=False, name_field=True),
            F("LatestPublishedVersionId", "reference", 18, label="Latest Published Version ID", **ro,
              reference_to=("ContentVersion",), relationship_name="LatestPublishedVersion"),
            F("FileType", "string", 20, label="File Type", **ro),
            F("FileExtension", "string", 40, label="File Extension", **ro),
            F("ContentSize", "int", label="Size", **ro),
            F("Description", "textarea", 1000, label="Description", createable=False),
        ]),
        "ContentVersion": ("068", "Content Versions", {"deletable": False}, _system_fields("Content Version") + [
            F("ContentDocumentId", "reference", 18, label="ContentDocument ID", updateable=False,
              reference_to=("ContentDocument",), relationship_name="ContentDocument"),
            F("Title", "string", 255, label="Title", nillable=False, defaulted=True, name_field=True),
            F("PathOnClient", "string", 500, label="Path On Client", updateable=False),
            F("VersionData", "base64", label="Version Data", updateable=False),
            F("FirstPublishLocationId", "reference", 18, label="First Publish Location ID", updateable=False,
              reference_to=LINKABLE, relationship_name="FirstPublishLocation"),
            F("Description", "textarea", 1000, label="Description"),
            F("ContentLocation", "picklist", 40, label="Content Location", nillable=False, defaulted=True,
              updateable=False, picklist=("S", "E", "L"), picklist_default="S", restricted=True),
            F("ContentSize", "int", label="Size", **ro),
            F("FileType", "string", 20, label="File Type", **ro),
            F("FileExtension", "string", 40, label="File Extension", **ro),
            F("VersionNumber", "string", 20, label="Version Number", **ro),
            F("IsLatest", "boolean", label="Is Latest", nillable=False, defaulted=True, default=True, **ro),
            F("Checksum", "string", 50, label="Checksum", **ro),
        ]),
        "ContentDocumentLink": ("06A", "Content Document Links", {"updateable": True},
                                _system_fields("Content Document Link", owner=False, modified=False) + [
            F("LinkedEntityId", "reference", 18, label="Linked Entity ID", nillable=False, updateable=False,
              reference_to=LINKABLE, relationship_name="LinkedEntity"),
            F("ContentDocumentId", "reference", 18, label="ContentDocument ID", nillable=False, updateable=False,
              reference_to=("ContentDocument",), relationship_name="ContentDocument"),
            F("ShareType", "picklist", 40, label="Share Type", nillable=False, picklist=("V", "C", "I"),
              restricted=True),
            F("Visibility", "picklist", 40, label="Visibility", nillable=False, defaulted=True,
              picklist=("AllUsers", "InternalUsers", "SharedUsers"), picklist_default="AllUsers", restricted=True),
        ]),
        "User": ("005", "Users", {"deletable": False, "undeletable": False}, _system_fields("User", owner=False) + [
            F("Username", "string", 80, label="Username", nillable=False, unique=True, id_lookup=True),
            F("LastName", "string", 80, label="Last Name", nillable=False),
            F("FirstName", "string", 40, label="First Name"),
            F("Name", "string", 121, label="Full Name", createable=False, updateable=False, name_field=True),
            F("Email", "email", 128, label="Email", nillable=False, id_lookup=True),
            F("Alias", "string", 8, label="Alias"),
            F("IsActive", "boolean", label="Active", nillable=False, defaulted=True, default=True),
            F("FederationIdentifier", "string", 512, label="SAML Federation ID", id_lookup=True),
            F("CommunityNickname", "string", 40, label="Nickname", id_lookup=True),
            F("UserType", "picklist", 40, label="User Type", createable=False, updateable=False,
              picklist=("Standard", "PowerPartner", "CspLitePortal", "CustomerSuccess", "Guest"),
              defaulted=True, restricted=True, picklist_default="Standard"),
        ]),
        "QueueSobject": ("03g", "Queue Sobjects", {"updateable": False},
                         _system_fields("Queue Sobject", owner=False, modified=False) + [
            F("QueueId", "reference", 18, label="Group ID", nillable=False, updateable=False,
              reference_to=("Group",), relationship_name="Queue"),
            F("SobjectType", "picklist", 40, label="Sobject Type", nillable=False, updateable=False,
              picklist=("Case", "Lead", "Knowledge__kav"), restricted=True),
        ]),
        "GroupMember": ("011", "Group Members", {"updateable": False},
                        _system_fields("Group Member", owner=False, modified=False) + [
            F("GroupId", "reference", 18, label="Group ID", nillable=False, updateable=False,
              reference_to=("Group",), relationship_name="Group"),
            F("UserOrGroupId", "reference", 18, label="User/Group ID", nillable=False, updateable=False,
              reference_to=("User", "Group"), relationship_name="UserOrGroup"),
        ]),
        # salesforce-next.md §3: Name 99, unique case-insensitively (the emulator's unique check folds case)
        "Topic": ("0TO", "Topics", {}, _system_fields("Topic", owner=False) + [
            F("Name", "string", 99, label="Name", nillable=False, id_lookup=True, name_field=True, unique=True),
            F("Description", "textarea", 1000, label="Description"),
        ]),
        "TopicAssignment": ("0FT", "Topic Assignments", {"updateable": False},
                            _system_fields("Topic Assignment", owner=False, modified=False) + [
            F("TopicId", "reference", 18, label="Topic ID", nillable=False, updateable=False,
              reference_to=("Topic",), relationship_name="Topic"),
            F("EntityId", "reference", 18, label="Entity ID", nillable=False, updateable=False,
              reference_to=("Account", "Case", "Contact", "Knowledge__kav"), relationship_name="Entity"),
            F("EntityType", "string", 80, label="Entity Type", createable=False, updateable=False),
        ]),
        # salesforce-next.md §2.1-2.2 (KAV v67): no delete() call (deletion is the deleteKnowledgeArticles action),
        # Title/UrlName required, Language create-only, PublishStatus/VersionNumber/ArticleNumber/KnowledgeArticleId
        # not createable; Body__c is the org's rich-text body field (custom, defined by the admin)
        "Knowledge__kav": ("ka0", "Knowledge", {"custom": False, "deletable": False}, _system_fields("Knowledge") + [
            F("Title", "string", 255, label="Title", nillable=False, name_field=True, id_lookup=True),
            F("UrlName", "string", 255, label="URL Name", nillable=False, unique=True, id_lookup=True),
            F("Summary", "textarea", 1000, label="Summary"),
            F("Language", "picklist", 40, label="Language", nillable=False, defaulted=True, updateable=False,
              picklist=("en_US", "de", "fr", "es", "ja"), picklist_default="en_US", restricted=True),
            F("PublishStatus", "picklist", 40, label="Publication Status", nillable=False, defaulted=True,
              createable=False, updateable=False, picklist=("Draft", "Online", "Archived"),
              picklist_default="Draft", restricted=True),
            F("IsVisibleInPkb", "boolean", label="Visible In Public Knowledge Base", nillable=False,
              defaulted=True, default=False),
            F("IsVisibleInCsp", "boolean", label="Visible to Customer", nillable=False, defaulted=True,
              default=False),
            F("VersionNumber", "int", label="Version Number", **ro),
            F("ArticleNumber", "string", 30, label="Article Number", auto_number=True, **ro),
            F("KnowledgeArticleId", "reference", 18, label="Knowledge Article ID", **ro,
              reference_to=("KnowledgeArticle",), relationship_name="KnowledgeArticle"),
            F("Body__c", "textarea", 131072, label="Body", html=True, custom=True),
        ]),
        # salesforce-next.md §4: SlaProcess (entitlement process) is read-only to the data API (Metadata API only);
        # Entitlement takes Name and AccountId (not updatable); Status derives from the dates
        "SlaProcess": ("552", "Entitlement Processes", {"createable": False, "updateable": False, "deletable": False},
                       _system_fields("Entitlement Process", owner=False) + [
            F("Name", "string", 255, label="Name", nillable=False, name_field=True, **ro),
            F("NameNorm", "string", 255, label="Name Norm", **ro),
            F("IsActive", "boolean", label="Active", nillable=False, defaulted=True, default=False, **ro),
            F("IsVersionDefault", "boolean", label="Default Version", nillable=False, defaulted=True, default=False,
              **ro),
            F("SObjectType", "picklist", 40, label="Entitlement Process Type", picklist=("Case", "WorkOrder"), **ro),
        ]),
        "Entitlement": ("550", "Entitlements", {}, _system_fields("Entitlement") + [
            F("Name", "string", 255, label="Entitlement Name", nillable=False, name_field=True),
            F("AccountId", "reference", 18, label="Account ID", nillable=False, updateable=False,
              reference_to=("Account",), relationship_name="Account"),
            F("SlaProcessId", "reference", 18, label="Entitlement Process ID", reference_to=("SlaProcess",),
              relationship_name="SlaProcess"),
            F("StartDate", "date", label="Start Date"),
            F("EndDate", "date", label="End Date"),
            F("Status", "picklist", 40, label="Status", picklist=("Active", "Expired", "Inactive"), **ro),
        ]),
        "EmailTemplate": ("00X", "Email Templates", {}, _system_fields("Email Template") + [
            F("Name", "string", 80, label="Email Template Name", nillable=False, name_field=True),
            F("DeveloperName", "string", 80, label="Template Unique Name", nillable=False, unique=True,
              id_lookup=True),
            F("FolderId", "reference", 18, label="Folder ID", nillable=False, reference_to=("User",),
              relationship_name="Folder"),
            F("TemplateType", "picklist", 40, label="Template Type", nillable=False, updateable=False,
              picklist=("text", "html", "custom", "visualforce"), restricted=True),
            F("Subject", "string", 1000, label="Subject"),
            F("Body", "textarea", 384000, label="Body"),
            F("HtmlValue", "textarea", 384000, label="HTML Body", html=True),
            F("IsActive", "boolean", label="Available For Use", nillable=False, defaulted=True, default=False),
            F("Description", "string", 4000, label="Description"),
        ]),
    }


def _object_describe(name: str, prefix: str, plural: str, overrides: dict[str, Any],
                     fields: list[dict[str, Any]], version: str = "59.0") -> dict[str, Any]:
    _, template = _templates()
    raw = copy.deepcopy(template)
    label = name.removesuffix("__kav").removesuffix("__c")
    raw.update(
        name=name, label=label, labelPlural=plural, keyPrefix=prefix, custom=name.endswith("__c"),
        createable=True, updateable=True, deletable=True, undeletable=True, queryable=True, searchable=True,
        mergeable=False, feedEnabled=False, mruEnabled=False, layoutable=True, triggerable=True,
        recordTypeInfos=[], supportedScopes=[{"label": "All", "name": "everything"}], namedLayoutInfos=[],
        actionOverrides=[],
        urls={"rowTemplate": f"/services/data/v{version}/sobjects/{name}/{{ID}}",
              "describe": f"/services/data/v{version}/sobjects/{name}/describe",
              "sobject": f"/services/data/v{version}/sobjects/{name}"},
    )
    raw.update(overrides)
    raw["fields"] = fields
    raw["childRelationships"] = []
    return raw


class Schema:
    """All objects of the emulated org, with case-insensitive lookup by name and by key prefix."""

    def __init__(self) -> None:
        self.objects: dict[str, ObjectMeta] = {}
        self._by_lower: dict[str, ObjectMeta] = {}
        self.by_prefix: dict[str, ObjectMeta] = {}
        self.audit_fields_createable = False
        for name in RECORDED_OBJECTS:
            self._register(_load_recorded(name))
        for name, (prefix, plural, overrides, fields) in _built_objects().items():
            self._register(_object_describe(name, prefix, plural, overrides, fields))
        self._link_children()

    def _register(self, describe: dict[str, Any]) -> ObjectMeta:
        meta = ObjectMeta(name=describe["name"], key_prefix=describe["keyPrefix"], describe=describe)
        for raw in describe["fields"]:
            meta.add(_field_from_describe(meta.name, raw))
        if "IsDeleted" not in meta.fields:
            # storage needs the recycle-bin flag even where the recorded describe does not list it
            hidden = _field_from_describe(meta.name, field_describe(
                "IsDeleted", "boolean", nillable=False, createable=False, updateable=False, defaulted=True,
                default=False))
            meta.fields["IsDeleted"] = hidden
            meta.by_lower["isdeleted"] = hidden
        self.objects[meta.name] = meta
        self._by_lower[meta.name.lower()] = meta
        self.by_prefix[meta.key_prefix] = meta
        return meta

    def _link_children(self) -> None:
        """Child relationships of built objects, with the cascade flags the recorded parents declare."""
        for child in self.objects.values():
            if child.name in RECORDED_OBJECTS:
                continue
            for f in child.fields.values():
                for parent_name in f.reference_to:
                    parent = self.objects.get(parent_name)
                    if parent is None or parent.name in RECORDED_OBJECTS:
                        continue
                    if any(c["childSObject"] == child.name and c["field"] == f.name
                           for c in parent.describe["childRelationships"]):
                        continue
                    parent.describe["childRelationships"].append({
                        "cascadeDelete": child.name in ("ContentDocumentLink", "TopicAssignment", "ContentVersion"),
                        "childSObject": child.name, "deprecatedAndHidden": False, "field": f.name,
                        "junctionIdListNames": [], "junctionReferenceTo": [],
                        "relationshipName": None, "restrictedDelete": False,
                    })

    def get(self, name: str) -> ObjectMeta | None:
        return self._by_lower.get(name.lower())

    def object_for_id(self, record_id: str) -> ObjectMeta | None:
        return self.by_prefix.get(record_id[:3])

    def child_rules(self, parent: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """(cascade-deleted children, delete-blocking children) of `parent`, as (object, field), served objects only."""
        meta = self.objects[parent]
        cascade, restrict = [], []
        for rel in meta.describe.get("childRelationships") or []:
            child = self.objects.get(rel["childSObject"])
            if child is None or child.field(rel["field"]) is None:
                continue
            if rel.get("cascadeDelete"):
                cascade.append((child.name, rel["field"]))
            elif rel.get("restrictedDelete"):
                restrict.append((child.name, rel["field"]))
        return cascade, restrict

    def describe(self, name: str, version: str) -> dict[str, Any]:
        """The describe body, with audit fields createable when the org setting is on."""
        meta = self.objects[name]
        body = dict(meta.describe)
        if self.audit_fields_createable:
            fields = []
            for raw in meta.describe["fields"]:
                if raw["name"] in AUDIT_FIELDS:
                    raw = dict(raw, createable=True)
                fields.append(raw)
            body["fields"] = fields
        return body

    def global_describe_entry(self, meta: ObjectMeta) -> dict[str, Any]:
        d = meta.describe
        keys = ("activateable", "createable", "custom", "customSetting", "deletable", "deprecatedAndHidden",
                "feedEnabled", "keyPrefix", "label", "labelPlural", "layoutable", "mergeable", "mruEnabled",
                "name", "queryable", "replicateable", "retrieveable", "searchable", "triggerable", "undeletable",
                "updateable", "urls")
        return {k: d.get(k) for k in keys}

    def add_custom_object(self, api_name: str, label: str, plural: str, prefix: str,
                          auto_number: bool = False) -> ObjectMeta:
        # a Text name field is required on create; an AutoNumber one is filled by the org (not createable)
        name = F("Name", "string", 80, label=f"{label} Name", name_field=True, id_lookup=True,
                 nillable=auto_number, createable=not auto_number, updateable=not auto_number,
                 defaulted=auto_number, auto_number=auto_number)
        fields = _system_fields(label) + [name]
        describe = _object_describe(api_name, prefix, plural, {"custom": True}, fields)
        return self._register(describe)

    def add_custom_field(self, obj: str, raw: dict[str, Any]) -> FieldMeta:
        meta = self.objects[obj]
        meta.describe["fields"] = [f for f in meta.describe["fields"] if f["name"] != raw["name"]] + [raw]
        fmeta = _field_from_describe(obj, raw)
        meta.add(fmeta)
        return fmeta
