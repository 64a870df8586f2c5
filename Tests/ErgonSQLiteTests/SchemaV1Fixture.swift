/// A queue file as the first schema (`v1`) wrote it, dumped with `sqlite3 .dump` and frozen
/// here: it must never change, so opening it keeps testing the upgrade path from v1 as
/// later schemas arrive. It holds one workflow with a volume: `prepare` completed (attempt
/// done), `train` running on agent-1 (attempt running in container beef01, GPU 0),
/// `report` unscheduled, `lint` failed with exit code 3, and `after-lint` cancelled.
enum SchemaV1Fixture {
    static let workflowID = "87a2ab41-64c2-4c33-9d5d-ed446d3ba53f"
    static let prepare = "a78a3eb2-643f-42e7-a5af-304e2b506e0d"
    static let train = "4b86d575-1f04-4351-bb11-1b299a0f4e1d"
    static let report = "168e1790-f42b-4b40-a2f4-7fbee28f4cf0"
    static let lint = "8eaa129f-0407-490c-b54a-900302b0921a"
    static let afterLint = "61f95ed0-d2c3-4eb9-89ec-7fbbe433b47b"

    static let dump = #"""
    PRAGMA foreign_keys=OFF;
    BEGIN TRANSACTION;
    CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
    INSERT INTO grdb_migrations VALUES('v1');
    CREATE TABLE workflows (
        id TEXT NOT NULL PRIMARY KEY,
        name TEXT NOT NULL,
        created_at REAL NOT NULL,
        volumes TEXT NOT NULL,
        cleaned_up INTEGER NOT NULL DEFAULT 0
    );
    INSERT INTO workflows VALUES('87a2ab41-64c2-4c33-9d5d-ed446d3ba53f','v1 workflow',1700000000.0,'["scratch"]',0);
    CREATE TABLE tasks (
        id TEXT NOT NULL PRIMARY KEY,
        workflow_id TEXT NOT NULL REFERENCES workflows(id),
        seq INTEGER NOT NULL UNIQUE,
        slug TEXT NOT NULL,
        priority INTEGER NOT NULL,
        spec TEXT NOT NULL,
        parent_ids TEXT NOT NULL,
        state TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        attempt_base INTEGER NOT NULL,
        max_attempts INTEGER NOT NULL,
        agent_id TEXT,
        exit_code INTEGER,
        reason TEXT,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        UNIQUE (workflow_id, slug)
    );
    INSERT INTO tasks VALUES('a78a3eb2-643f-42e7-a5af-304e2b506e0d','87a2ab41-64c2-4c33-9d5d-ed446d3ba53f',1,'prepare',0,'{"command":"echo prepare","env":{"K":"V"},"gpu":false,"image":"alpine:3","maxAttempts":2,"parents":[],"priority":0,"resources":[],"slug":"prepare","volumes":[]}','[]','completed',1,0,2,NULL,0,NULL,1700000000.0,1700000020.0);
    INSERT INTO tasks VALUES('4b86d575-1f04-4351-bb11-1b299a0f4e1d','87a2ab41-64c2-4c33-9d5d-ed446d3ba53f',2,'train',5,'{"command":["python","train.py"],"env":{},"gpu":true,"image":"pytorch:2","parents":["prepare"],"priority":5,"resources":[],"slug":"train","timeoutSeconds":3600,"volumes":[]}','["a78a3eb2-643f-42e7-a5af-304e2b506e0d"]','running',1,0,3,'agent-1',NULL,NULL,1700000000.0,1700000030.0);
    INSERT INTO tasks VALUES('168e1790-f42b-4b40-a2f4-7fbee28f4cf0','87a2ab41-64c2-4c33-9d5d-ed446d3ba53f',3,'report',0,'{"command":"echo report","env":{},"gpu":false,"image":"alpine:3","parents":["train"],"priority":0,"resources":[],"slug":"report","volumes":[]}','["4b86d575-1f04-4351-bb11-1b299a0f4e1d"]','unscheduled',0,0,3,NULL,NULL,NULL,1700000000.0,1700000000.0);
    INSERT INTO tasks VALUES('8eaa129f-0407-490c-b54a-900302b0921a','87a2ab41-64c2-4c33-9d5d-ed446d3ba53f',4,'lint',0,'{"command":"exit 3","env":{},"gpu":false,"image":"alpine:3","parents":[],"priority":0,"resources":[],"slug":"lint","volumes":[]}','[]','failed',1,0,3,NULL,3,'exited with code 3',1700000000.0,1700000041.0);
    INSERT INTO tasks VALUES('61f95ed0-d2c3-4eb9-89ec-7fbbe433b47b','87a2ab41-64c2-4c33-9d5d-ed446d3ba53f',5,'after-lint',0,'{"env":{},"gpu":false,"image":"alpine:3","parents":["lint"],"priority":0,"resources":[],"slug":"after-lint","volumes":[]}','["8eaa129f-0407-490c-b54a-900302b0921a"]','cancelled',0,0,3,NULL,NULL,'parent "lint" ended failed',1700000000.0,1700000041.0);
    CREATE TABLE attempts (
        task_id TEXT NOT NULL REFERENCES tasks(id),
        number INTEGER NOT NULL,
        agent_id TEXT NOT NULL,
        phase TEXT NOT NULL,
        instance_id TEXT,
        gpu TEXT,
        outcome TEXT,
        claimed_at REAL NOT NULL,
        started_at REAL,
        ended_at REAL,
        log_cursor TEXT,
        log_spooled INTEGER NOT NULL,
        log_shipped INTEGER NOT NULL,
        absent_ticks INTEGER NOT NULL,
        PRIMARY KEY (task_id, number)
    ) WITHOUT ROWID;
    INSERT INTO attempts VALUES('4b86d575-1f04-4351-bb11-1b299a0f4e1d',1,'agent-1','running','beef01','0',NULL,1700000030.0,1700000031.0,NULL,NULL,0,0,1);
    INSERT INTO attempts VALUES('8eaa129f-0407-490c-b54a-900302b0921a',1,'agent-1','done',NULL,NULL,'{"exited":{"code":3}}',1700000040.0,NULL,1700000041.0,NULL,0,0,0);
    INSERT INTO attempts VALUES('a78a3eb2-643f-42e7-a5af-304e2b506e0d',1,'agent-1','done','c0ffee',NULL,'{"exited":{"code":0}}',1700000010.0,1700000011.0,1700000020.0,'1700000020.5',120,100,0);
    CREATE INDEX tasks_by_claim_order ON tasks (state, priority DESC, seq);
    CREATE INDEX tasks_by_workflow ON tasks (workflow_id, seq);
    CREATE INDEX tasks_by_agent ON tasks (agent_id, state);
    COMMIT;
    """#
}
