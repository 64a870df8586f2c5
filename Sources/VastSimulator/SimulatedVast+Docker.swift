import Foundation

extension SimulatedVast {
    /// Connects the Docker side (`--docker` mode) once the server runs.
    func attach(_ runner: DockerRunner?) {
        docker = runner
    }

    /// Queues the launch of the instance's current container.
    func launchContainer(for instance: SimulatedInstance) {
        guard let docker, let container = instance.container else { return }
        docker.enqueue(.launch(ContainerLaunch(instance: instance, generation: container.generation, serverTag: docker.serverTag)))
    }

    /// Queues the stop of the instance's current container (its output is kept).
    func stopContainer(of instance: SimulatedInstance) {
        guard let docker, let container = instance.container else { return }
        docker.enqueue(.stop(instanceID: instance.id, generation: container.generation))
    }

    /// Queues the removal of every container of instance `id`.
    func removeContainers(of id: Int) {
        docker?.enqueue(.remove(instanceID: id))
    }

    /// The runner made a container; false when the instance no longer wants it.
    func containerCreated(instanceID: Int, generation: Int, containerID: String) -> Bool {
        guard var instance = instances[instanceID], !instance.isDestroyed(at: clock.now()),
            instance.runs.last?.stoppedAt == nil, instance.container?.generation == generation
        else { return false }
        instance.container?.stage = .container(id: containerID, state: "created")
        instances[instanceID] = instance
        return true
    }

    /// The runner started the container.
    func containerStarted(instanceID: Int, generation: Int, containerID: String) {
        guard var instance = instances[instanceID], instance.container?.generation == generation,
            instance.container?.containerID == containerID
        else { return }
        // The poll may already have seen it exit.
        if case .container(_, "created") = instance.container?.stage {
            instance.container?.stage = .container(id: containerID, state: "running")
        }
        if instance.container?.runningSince == nil { instance.container?.runningSince = clock.now() }
        instances[instanceID] = instance
    }

    /// The runner could not pull, create or start the container.
    func containerFailed(instanceID: Int, generation: Int, stage: InstanceContainer.Stage) {
        guard var instance = instances[instanceID], instance.container?.generation == generation else { return }
        instance.container?.stage = stage
        instances[instanceID] = instance
    }

    /// The runner stopped a run and read its output.
    func containerStopped(instanceID: Int, generation: Int, output: [String]) {
        guard var instance = instances[instanceID], instance.container != nil else { return }
        instance.container?.earlierOutput += output
        // A restart may already have moved on to the next container.
        if instance.container?.generation == generation { instance.container?.stage = .removed }
        instances[instanceID] = instance
    }

    /// The engine's state of every container of this simulator, by instance id.
    func containerStates(_ states: [Int: (id: String, state: String)]) {
        let now = clock.now()
        for (instanceID, reported) in states {
            guard var instance = instances[instanceID], var container = instance.container,
                container.containerID == reported.id
            else { continue }
            container.stage = .container(id: reported.id, state: reported.state)
            if reported.state == "running", container.runningSince == nil { container.runningSince = now }
            instance.container = container
            instances[instanceID] = instance
        }
    }
}
