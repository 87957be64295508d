"""Every model of every domain, imported so the metadata is complete (Alembic, tests)."""
from app.audit.models import AuditChainHead, AuditEvent  # noqa: F401
from app.auth.models import ApiToken, LoginAttempt, User  # noqa: F401
from app.awards.models import (  # noqa: F401
    AwardAmendment,
    AwardLine,
    AwardProposal,
    AwardScenario,
    Objection,
    PublishedAward,
    PublishedAwardLine,
)
from app.bidding.models import (  # noqa: F401
    Bid,
    CommittedVolume,
    NegotiationRound,
    OpeningKey,
    OpeningRecord,
    QualificationDocument,
    QuoteSubmission,
    RoundInvitation,
    RoundLot,
    SelectionRun,
)
from app.catalog.models import DosageForm, Product, ProductCodeChange, ProductProposal  # noqa: F401
from app.core.db import Base  # noqa: F401
from app.credit.models import CreditRating  # noqa: F401
from app.documents.models import StoredDocument  # noqa: F401
from app.execution.models import (  # noqa: F401
    Contract,
    ContractYear,
    DistributorAssignment,
    Payment,
    PurchaseRecord,
    SupplyAlert,
)
from app.notifications.models import Notification, NotificationRead  # noqa: F401
from app.orgs.models import Organisation  # noqa: F401
from app.prices.models import (  # noqa: F401
    GovernanceThreshold,
    Inquiry,
    InquiryStep,
    LinkageTask,
    ListedPrice,
    NationalLowestPrice,
    PriceReference,
    RiskFlag,
)
from app.projects.models import (  # noqa: F401
    DemandAmendment,
    DemandLine,
    DemandReport,
    Lot,
    LotProduct,
    ProcurementProject,
    ProjectInstitution,
    ProjectStateChange,
    RuleSetVersion,
    SystemComponent,
)
from app.regions.models import Region  # noqa: F401
