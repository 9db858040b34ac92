-- CreateTable
CREATE TABLE "Policy" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "priority" INTEGER NOT NULL DEFAULT 0,
    "scopeKind" TEXT NOT NULL,
    "sessionId" TEXT,
    "rulesJson" TEXT NOT NULL,
    "createdBy" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "PolicySet" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "isDefault" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "PolicySetMember" (
    "setId" TEXT NOT NULL,
    "policyId" TEXT NOT NULL,

    PRIMARY KEY ("setId", "policyId"),
    CONSTRAINT "PolicySetMember_setId_fkey" FOREIGN KEY ("setId") REFERENCES "PolicySet" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "PolicySetMember_policyId_fkey" FOREIGN KEY ("policyId") REFERENCES "Policy" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Approval" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "hostId" TEXT NOT NULL,
    "sessionId" TEXT NOT NULL,
    "tool" TEXT NOT NULL,
    "argsJson" TEXT NOT NULL,
    "cwd" TEXT,
    "policyId" TEXT,
    "policyName" TEXT,
    "ruleIndex" INTEGER,
    "reason" TEXT,
    "status" TEXT NOT NULL,
    "decidedBy" TEXT,
    "decisionReason" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" DATETIME NOT NULL,
    "decidedAt" DATETIME
);

-- CreateTable
CREATE TABLE "PolicyDecision" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "hostId" TEXT NOT NULL,
    "sessionId" TEXT,
    "at" DATETIME NOT NULL,
    "tool" TEXT NOT NULL,
    "argsSummary" TEXT NOT NULL,
    "decision" TEXT NOT NULL,
    "outcome" TEXT NOT NULL,
    "decider" TEXT NOT NULL,
    "policyId" TEXT,
    "policyName" TEXT,
    "ruleIndex" INTEGER,
    "approvalId" TEXT,
    "hookEvent" TEXT
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Session" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "hostId" TEXT NOT NULL,
    "name" TEXT,
    "provider" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "cwd" TEXT NOT NULL,
    "billing" TEXT NOT NULL,
    "dangerous" BOOLEAN NOT NULL DEFAULT false,
    "model" TEXT,
    "envNamesJson" TEXT NOT NULL DEFAULT '[]',
    "sealedEnv" TEXT,
    "worktreeBranch" TEXT,
    "worktreePath" TEXT,
    "argsJson" TEXT NOT NULL DEFAULT '[]',
    "policySetIdsJson" TEXT NOT NULL DEFAULT '[]',
    "providerSessionId" TEXT,
    "transcriptPath" TEXT,
    "exitCode" INTEGER,
    "error" TEXT,
    "stateSeq" BIGINT NOT NULL DEFAULT 0,
    "createdBy" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    "endedAt" DATETIME,
    CONSTRAINT "Session_hostId_fkey" FOREIGN KEY ("hostId") REFERENCES "Host" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_Session" ("argsJson", "billing", "createdAt", "createdBy", "cwd", "dangerous", "endedAt", "envNamesJson", "error", "exitCode", "hostId", "id", "model", "name", "provider", "providerSessionId", "sealedEnv", "stateSeq", "status", "transcriptPath", "updatedAt", "worktreeBranch", "worktreePath") SELECT "argsJson", "billing", "createdAt", "createdBy", "cwd", "dangerous", "endedAt", "envNamesJson", "error", "exitCode", "hostId", "id", "model", "name", "provider", "providerSessionId", "sealedEnv", "stateSeq", "status", "transcriptPath", "updatedAt", "worktreeBranch", "worktreePath" FROM "Session";
DROP TABLE "Session";
ALTER TABLE "new_Session" RENAME TO "Session";
CREATE INDEX "Session_hostId_status_idx" ON "Session"("hostId", "status");
CREATE INDEX "Session_createdAt_idx" ON "Session"("createdAt");
CREATE UNIQUE INDEX "Session_hostId_name_key" ON "Session"("hostId", "name");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE UNIQUE INDEX "Policy_name_key" ON "Policy"("name");

-- CreateIndex
CREATE UNIQUE INDEX "PolicySet_name_key" ON "PolicySet"("name");

-- CreateIndex
CREATE INDEX "Approval_status_createdAt_idx" ON "Approval"("status", "createdAt");

-- CreateIndex
CREATE INDEX "Approval_sessionId_createdAt_idx" ON "Approval"("sessionId", "createdAt");

-- CreateIndex
CREATE INDEX "PolicyDecision_sessionId_id_idx" ON "PolicyDecision"("sessionId", "id");

-- CreateIndex
CREATE INDEX "PolicyDecision_decision_id_idx" ON "PolicyDecision"("decision", "id");


