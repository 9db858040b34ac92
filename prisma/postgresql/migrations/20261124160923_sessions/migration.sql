-- CreateTable
CREATE TABLE "Session" (
    "id" TEXT NOT NULL,
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
    "providerSessionId" TEXT,
    "transcriptPath" TEXT,
    "exitCode" INTEGER,
    "error" TEXT,
    "stateSeq" BIGINT NOT NULL DEFAULT 0,
    "createdBy" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "endedAt" TIMESTAMP(3),

    CONSTRAINT "Session_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Usage" (
    "id" BIGSERIAL NOT NULL,
    "hostId" TEXT NOT NULL,
    "sessionId" TEXT NOT NULL,
    "messageId" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "inputTokens" INTEGER NOT NULL,
    "outputTokens" INTEGER NOT NULL,
    "cacheReadTokens" INTEGER NOT NULL,
    "cacheCreationTokens" INTEGER NOT NULL,
    "at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Usage_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Session_hostId_status_idx" ON "Session"("hostId", "status");

-- CreateIndex
CREATE INDEX "Session_createdAt_idx" ON "Session"("createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "Session_hostId_name_key" ON "Session"("hostId", "name");

-- CreateIndex
CREATE INDEX "Usage_at_idx" ON "Usage"("at");

-- CreateIndex
CREATE INDEX "Usage_model_at_idx" ON "Usage"("model", "at");

-- CreateIndex
CREATE UNIQUE INDEX "Usage_sessionId_messageId_key" ON "Usage"("sessionId", "messageId");

-- AddForeignKey
ALTER TABLE "Session" ADD CONSTRAINT "Session_hostId_fkey" FOREIGN KEY ("hostId") REFERENCES "Host"("id") ON DELETE CASCADE ON UPDATE CASCADE;


