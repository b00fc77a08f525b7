"""The export source's config (``source: {type: export, ...}``): where the bundle is.

- ``path``: a bundle folder or .zip on the machine that runs the migration. The first step (discover) checks it and
  copies it into the migration's stage; every worker then reads the staged copy.
- ``staged``: a bundle already in the stage (``inputs/bundle-<id>/``, printed by ``hdm stage-input``): the way on
  AWS, where the workers cannot see the operator's files.
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, model_validator

from hdm.pipeline.config import ConnectorConfig, LocalPath


class ExportSourceConfig(ConnectorConfig):
    type: Literal["export"] = "export"
    path: Optional[LocalPath] = None
    staged: Optional[str] = Field(None, pattern=r"^inputs/bundle-[0-9a-f]{16}/?$")

    @model_validator(mode="after")
    def _one_place(self) -> ExportSourceConfig:
        if (self.path is None) == (self.staged is None):
            raise ValueError("give the bundle's place: path (a bundle folder or .zip here) or staged (the stage "
                             "folder `hdm stage-input` printed), not both")
        return self
