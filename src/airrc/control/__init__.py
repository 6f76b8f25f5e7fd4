"""Human control of protected decisions: quorum of named approvers, deny by default, auditable."""
