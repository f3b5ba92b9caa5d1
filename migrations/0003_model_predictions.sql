CREATE TABLE `model_decisions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ts` integer NOT NULL,
	`symbol` text NOT NULL,
	`strategy` text NOT NULL,
	`action` text NOT NULL,
	`confidence` real NOT NULL,
	`votes` text NOT NULL,
	`features` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `model_decisions_ts` ON `model_decisions` (`ts`);--> statement-breakpoint
CREATE TABLE `model_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ts` integer NOT NULL,
	`model` text NOT NULL,
	`type` text NOT NULL,
	`version` integer,
	`previous` integer,
	`detail` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `model_predictions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ts` integer NOT NULL,
	`symbol` text NOT NULL,
	`model` text NOT NULL,
	`version` integer NOT NULL,
	`action` text NOT NULL,
	`confidence` real NOT NULL,
	`p_sell` real,
	`p_hold` real,
	`p_buy` real,
	`value` real,
	`horizon` integer NOT NULL,
	`threshold` real NOT NULL,
	`price` real NOT NULL,
	`exit_price` real,
	`ret` real,
	`hit` integer,
	`brier` real
);
--> statement-breakpoint
CREATE INDEX `model_predictions_model` ON `model_predictions` (`model`,`version`);--> statement-breakpoint
CREATE INDEX `model_predictions_open` ON `model_predictions` (`exit_price`,`symbol`);