"""Staff account management under /v1/kb/staff: admins only.

List accounts, create one, change a role, disable or enable an account, revoke a member's
session tokens and API keys, issue an API key, reset a password (which also lifts a lockout). Every change is an audit record written in
the same transaction as the change (knowledge/staff.py), with the acting admin as actor.
Secrets (a generated password, a new API key) are in the response once and nowhere else.

Two rules keep the bank from locking itself out: an admin cannot disable their own account,
and the last active admin can be neither demoted nor disabled (409 either way).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from .api import ROLE, SIGNED_IN, Admin, store_of
from .api_models import BODY_REFUSALS, refusals
from .staff import MIN_PASSWORD, NAME_PATTERN, Role, Staff, StaffConflict, StaffError, UnknownStaff

# Every route here is an admin's: each may refuse a caller like this.
router = APIRouter(prefix="/v1/kb/staff", tags=["staff accounts (admin)"], responses=refusals({**SIGNED_IN, **ROLE}))
NO_STAFF = {404: "no staff account of that name"}
STATE = {409: "the accounts' state forbids it: disabling yourself, demoting or disabling the last active "
              "admin, a name already taken, an account already (or not) disabled, a key for a disabled one"}
INVALID = {422: "invalid parameters, or a name or password the rules refuse"}
RoleName = Literal["viewer", "editor", "reviewer", "admin"]


class StaffOut(BaseModel):
    name: str
    role: RoleName
    created_at: float
    disabled: bool

    @classmethod
    def of(cls, staff: Staff) -> StaffOut:
        return cls(name=staff.name, role=staff.role.name, created_at=staff.created_at, disabled=staff.disabled)


class CreateStaffRequest(BaseModel):
    # The rules are `Staff.add`'s (a 422 with its sentence); in the schema for clients and generated tests.
    name: str = Field(description="1-64 of a-z 0-9 _ . -, starting with a letter or digit",
                      json_schema_extra={"pattern": NAME_PATTERN})
    role: RoleName
    password: str | None = Field(None, description=f"at least {MIN_PASSWORD} characters; omitted: one is generated",
                                 json_schema_extra={"minLength": MIN_PASSWORD})


class CreatedStaff(StaffOut):
    password: str | None = Field(description="the generated password, shown this once; null if you chose it")


class RoleRequest(BaseModel):
    role: RoleName


class RevokeRequest(BaseModel):
    kind: Literal["session", "api_key"] | None = Field(None, description="only this kind; null: both")


class Revoked(BaseModel):
    name: str
    revoked: int


class PasswordReset(BaseModel):
    password: str | None = Field(None, max_length=256, description=f"at least {MIN_PASSWORD} characters; "
                                 "omitted: one is generated", json_schema_extra={"minLength": MIN_PASSWORD})


class PasswordResetOut(Revoked):
    password: str | None = Field(description="the generated password, shown this once; null if you chose it")


class ApiKeyRequest(BaseModel):
    label: str = Field("", max_length=80, description="what the key is for, e.g. the script's name")
    ttl_s: float | None = Field(None, gt=0, description="expiry in seconds; null: until revoked")


class ApiKeyOut(BaseModel):
    name: str
    label: str
    token: str = Field(description="the API key, shown this once: store it in the script's secret store")
    expires_at: float | None


@contextmanager
def _staff_errors() -> Iterator[None]:
    try:
        yield
    except UnknownStaff as exc:
        raise HTTPException(404, str(exc)) from None
    except StaffConflict as exc:
        raise HTTPException(409, {"error": type(exc).__name__, "message": str(exc)}) from None
    except StaffError as exc:
        raise HTTPException(422, str(exc)) from None


@router.get("", response_model=list[StaffOut], summary="every staff account, active and disabled")
def list_staff(request: Request, admin: Staff = Admin) -> list[StaffOut]:
    return [StaffOut.of(s) for s in store_of(request).staff.list()]


@router.get("/{name}", response_model=StaffOut, responses=refusals(NO_STAFF))
def get_staff(name: str, request: Request, admin: Staff = Admin) -> StaffOut:
    with _staff_errors():
        return StaffOut.of(store_of(request).staff.get(name))


@router.post("", response_model=CreatedStaff, status_code=201, summary="create an account",
             responses=refusals({**BODY_REFUSALS, **STATE, **INVALID}))
def create_staff(body: CreateStaffRequest, request: Request, admin: Staff = Admin) -> CreatedStaff:
    with _staff_errors():
        staff, password = store_of(request).staff.add(body.name, Role[body.role], by=admin.name,
                                                      password=body.password)
    return CreatedStaff(**StaffOut.of(staff).model_dump(), password=None if body.password else password)


@router.put("/{name}/role", response_model=StaffOut, summary="change a role (effective on the next request)",
            responses=refusals({**BODY_REFUSALS, **NO_STAFF, **STATE}))
def change_role(name: str, body: RoleRequest, request: Request, admin: Staff = Admin) -> StaffOut:
    with _staff_errors():
        return StaffOut.of(store_of(request).staff.set_role(name, Role[body.role], by=admin.name))


@router.post("/{name}/disable", response_model=StaffOut, summary="disable an account and revoke its credentials",
             responses=refusals({**NO_STAFF, **STATE}))
def disable_staff(name: str, request: Request, admin: Staff = Admin) -> StaffOut:
    with _staff_errors():
        return StaffOut.of(store_of(request).staff.disable(name, by=admin.name))


@router.post("/{name}/enable", response_model=StaffOut, summary="let a disabled account log in again",
             responses=refusals({**NO_STAFF, **STATE}))
def enable_staff(name: str, request: Request, admin: Staff = Admin) -> StaffOut:
    with _staff_errors():
        return StaffOut.of(store_of(request).staff.enable(name, by=admin.name))


@router.post("/{name}/revoke", response_model=Revoked, summary="revoke a member's session tokens and/or API keys",
             responses=refusals({**BODY_REFUSALS, **NO_STAFF}))
def revoke_credentials(name: str, body: RevokeRequest, request: Request, admin: Staff = Admin) -> Revoked:
    with _staff_errors():
        return Revoked(name=name, revoked=store_of(request).staff.revoke_all(name, by=admin.name, kind=body.kind))


@router.post("/{name}/api-keys", response_model=ApiKeyOut, status_code=201, summary="issue an API key (shown once)",
             responses=refusals({**BODY_REFUSALS, **NO_STAFF, **STATE}))
def create_api_key(name: str, body: ApiKeyRequest, request: Request, admin: Staff = Admin) -> ApiKeyOut:
    with _staff_errors():
        issued = store_of(request).staff.add_api_key(name, by=admin.name, label=body.label, ttl_s=body.ttl_s)
    return ApiKeyOut(name=name, label=body.label or "api key", token=issued.token, expires_at=issued.expires_at)


@router.put("/{name}/password", response_model=PasswordResetOut,
            summary="set a member's password; unlocks the account and ends its sessions",
            responses=refusals({**BODY_REFUSALS, **NO_STAFF, **INVALID}))
def reset_password(name: str, body: PasswordReset, request: Request, admin: Staff = Admin) -> PasswordResetOut:
    with _staff_errors():
        revoked, password = store_of(request).staff.reset_password(name, by=admin.name, password=body.password)
    return PasswordResetOut(name=name, revoked=revoked, password=None if body.password else password)
