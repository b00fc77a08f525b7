"""Fixtures shared by every test level. Area fixtures live in hdm_infra.testing.<area> modules."""

pytest_plugins: list[str] = [
    "hdm_infra.testing.mariadb",
    "hdm_infra.testing.osticket_real",
    "hdm_infra.testing.threads",
    "hdm_infra.testing.aws",
    "hdm_infra.testing.sfemu",
    "hdm_infra.testing.intercomemu",
]
