DROP INDEX `positions_status`;--> statement-breakpoint
CREATE INDEX `positions_status_closed_at` ON `positions` (`status`,`closed_at`);