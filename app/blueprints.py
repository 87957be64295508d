"""Every blueprint of the app, one per domain (the route × role test walks them all)."""
from app.audit.views import bp as audit_bp
from app.auth.views import bp as auth_bp
from app.bidding.views import bp as bidding_bp
from app.bidding.negotiation_views import bp as negotiation_bp
from app.catalog.views import bp as catalog_bp
from app.demand.views import bp as demand_bp
from app.main.views import bp as main_bp
from app.notifications.views import bp as notifications_bp
from app.orgs.views import bp as orgs_bp
from app.projects.views import bp as projects_bp
from app.selection.views import bp as selection_bp

BLUEPRINTS = (main_bp, auth_bp, orgs_bp, audit_bp, notifications_bp, projects_bp, catalog_bp, selection_bp, demand_bp, bidding_bp, negotiation_bp)
