"""Local API emulators: a shared kit (`kit`) and one package per API (Salesforce: `hdm_infra.sfemu`)."""
