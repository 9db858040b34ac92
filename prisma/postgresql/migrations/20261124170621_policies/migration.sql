-- AlterTable
ALTER TABLE "Session" ADD COLUMN     "policySetIdsJson" TEXT NOT NULL DEFAULT '[]';

-- CreateTable
CREATE TABLE "Policy" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "priority" INTEGER NOT NULL DEFAULT 0,
    "scopeKind" TEXT NOT NULL,
    "sessionId" TEXT,
    "rulesJson" TEXT NOT NULL,
    "createdBy" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Policy_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "PolicySet" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "isDefault" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "PolicySet_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "PolicySetMember" (
    "setId" TEXT NOT NULL,
    "policyId" TEXT NOT NULL,

    CONSTRAINT "PolicySetMember_pkey" PRIMARY KEY ("setId","policyId")
);

-- CreateTable
CREATE TABLE "Approval" (
    "id" TEXT NOT NULL,
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
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "decidedAt" TIMESTAMP(3),

    CONSTRAINT "Approval_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "PolicyDecision" (
    "id" BIGSERIAL NOT NULL,
    "hostId" TEXT NOT NULL,
    "sessionId" TEXT,
    "at" TIMESTAMP(3) NOT NULL,
    "tool" TEXT NOT NULL,
    "argsSummary" TEXT NOT NULL,
    "decision" TEXT NOT NULL,
    "outcome" TEXT NOT NULL,
    "decider" TEXT NOT NULL,
    "policyId" TEXT,
    "policyName" TEXT,
    "ruleIndex" INTEGER,
    "approvalId" TEXT,
    "hookEvent" TEXT,

    CONSTRAINT "PolicyDecision_pkey" PRIMARY KEY ("id")
);

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

-- AddForeignKey
ALTER TABLE "PolicySetMember" ADD CONSTRAINT "PolicySetMember_setId_fkey" FOREIGN KEY ("setId") REFERENCES "PolicySet"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PolicySetMember" ADD CONSTRAINT "PolicySetMember_policyId_fkey" FOREIGN KEY ("policyId") REFERENCES "Policy"("id") ON DELETE CASCADE ON UPDATE CASCADE;


